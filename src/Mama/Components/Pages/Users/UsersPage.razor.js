// Rows of the users grid as keyboard targets: each row (a table row, or a card on a phone) takes focus, is named by
// its user and opens on Enter or Space as a click does. MudDataGrid gives rows no attributes of their own, so they are
// set here, again whenever the grid renders new rows.
export function watchRows(host) {
    if (!host || host.dataset.rowsWatched) return;
    host.dataset.rowsWatched = 'true';
    const mark = () => {
        for (const row of host.querySelectorAll('tbody tr.mud-table-row')) {
            const name = row.querySelector('[data-row-name]');
            if (!name) continue;
            if (row.getAttribute('tabindex') !== '0') row.setAttribute('tabindex', '0');
            const label = name.getAttribute('data-row-name');
            if (row.getAttribute('aria-label') !== label) row.setAttribute('aria-label', label);
            row.dataset.rowUser = name.getAttribute('data-user-id');
        }
    };
    new MutationObserver(mark).observe(host, { childList: true, subtree: true });
    mark();
    host.addEventListener('keydown', e => {
        // Only the row itself: Enter or Space on its checkbox or key menu keeps their own meaning.
        if (!(e.target instanceof HTMLTableRowElement) || !e.target.dataset.rowUser) return;
        if (e.key !== 'Enter' && e.key !== ' ') return;
        e.preventDefault();
        e.target.click();
    });
}

// The grid may still be rendering the reloaded rows: a few frames at most, then focus stays where it is.
export function focusRow(host, userId) {
    let frames = 0;
    const attempt = () => {
        const row = [...host.querySelectorAll('tbody tr.mud-table-row')].find(r => r.dataset.rowUser === userId);
        if (row) { row.focus(); return; }
        if (++frames < 30) requestAnimationFrame(attempt);
    };
    attempt();
}
