// Drives mama's reconnect banner (ReconnectModal.razor) from Blazor's reconnect events. Unlike Blazor's own
// dialog it never reloads the page by itself: a reload loses a dialog's unsaved input, so the admin decides.
const modal = document.getElementById("components-reconnect-modal");
modal.addEventListener("components-reconnect-state-changed", changed);
document.getElementById("components-reconnect-button").addEventListener("click", retry);
document.getElementById("components-resume-button").addEventListener("click", resume);
document.getElementById("components-reload-button").addEventListener("click", () => location.reload());

function changed(event) {
    const state = event.detail.state;
    if (state === "show") {
        modal.classList.remove("components-reconnect-rejected");
        if (!modal.open) modal.showModal();
    } else if (state === "hide") {
        modal.close();
    } else if (state === "failed") {
        document.addEventListener("visibilitychange", retryWhenVisible);
    } else if (state === "rejected") {
        // The server no longer has this page's circuit (it restarted, or the circuit expired).
        modal.classList.add("components-reconnect-rejected");
        if (!modal.open) modal.showModal();
    }
}

async function retry() {
    document.removeEventListener("visibilitychange", retryWhenVisible);
    try {
        if (await Blazor.reconnect()) return;
        if (await Blazor.resumeCircuit()) modal.close();
        else modal.classList.add("components-reconnect-rejected");
    } catch {
        document.addEventListener("visibilitychange", retryWhenVisible);
    }
}

async function resume() {
    try {
        if (!(await Blazor.resumeCircuit())) modal.classList.add("components-reconnect-rejected");
    } catch {
        modal.classList.replace("components-reconnect-paused", "components-reconnect-resume-failed");
    }
}

async function retryWhenVisible() {
    if (document.visibilityState === "visible") await retry();
}
