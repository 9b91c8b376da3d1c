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
    }
};
