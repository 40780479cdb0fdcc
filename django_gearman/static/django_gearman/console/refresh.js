// Refresh the status panels in place; without JavaScript the page is a plain, reloadable table.
(function () {
  "use strict";
  const live = document.getElementById("gearman-live");
  const state = document.getElementById("gearman-refresh-state");
  const seconds = live ? Number(live.dataset.refreshSeconds) : 0;
  if (!live || !(seconds > 0)) return;
  async function refresh() {
    try {
      const response = await fetch(live.dataset.panelsUrl, {credentials: "same-origin"});
      if (response.redirected) {  // signed out: the answer is the login page, not the panels
        if (state) state.textContent = "signed out: reload the page to sign in";
        return;
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      live.innerHTML = await response.text();
      if (state) state.textContent = "refreshes every " + seconds + " s";
    } catch (error) {
      if (state) state.textContent = "refresh failed (" + error.message + "), retrying";
    }
    window.setTimeout(refresh, seconds * 1000);
  }
  if (state) state.textContent = "refreshes every " + seconds + " s";
  window.setTimeout(refresh, seconds * 1000);
})();
