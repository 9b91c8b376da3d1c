// Clipboard for copy buttons; resolves false where the browser refuses (no secure context, no permission).
window.mama = {
    copy: async function (text) {
        try { await navigator.clipboard.writeText(text); return true; } catch { return false; }
    },
    download: function (fileName, contentType, text) {
        const url = URL.createObjectURL(new Blob([text], { type: contentType }));
        const a = document.createElement('a');
        a.href = url; a.download = fileName; document.body.appendChild(a); a.click(); a.remove();
        URL.revokeObjectURL(url);
    },
    submit: function (id) { document.getElementById(id)?.requestSubmit(); },
    // The browser's IANA zone (undefined in old browsers) and its offset, so times show in the admin's own zone.
    timeZone: function () {
        let zone;
        try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch { }
        return { zone: zone, offsetMinutes: new Date().getTimezoneOffset() };
    }
};

// Static forms (sign in) have no circuit to run MudBlazor's AutoFocus: the first field is focused here.
document.querySelector("input[data-autofocus]")?.focus();

// A closed dialog gives focus back to the control that opened it (MudBlazor leaves it on <body>): WCAG 2.4.3.
(() => {
    let current = null, previous = null;
    const openers = new Map();
    document.addEventListener("focusin", event => { previous = current; current = event.target; }, true);
    new MutationObserver(records => {
        for (const record of records) {
            for (const node of record.addedNodes) {
                if (!(node instanceof Element) || !node.matches(".mud-dialog-container")) continue;
                const active = document.activeElement;
                openers.set(node, active && !node.contains(active) && active !== document.body ? active : previous);
            }
            for (const node of record.removedNodes) {
                if (!openers.has(node)) continue;
                const opener = openers.get(node);
                openers.delete(node);
                const back = opener?.isConnected ? opener : opener?.id ? document.getElementById(opener.id) : null;
                if (back && (document.activeElement === document.body || !document.activeElement)) back.focus();
            }
        }
    }).observe(document.body, { childList: true, subtree: true });
})();
