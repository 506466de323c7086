// Videos page: while a job is queued or in progress, the list refreshes every 2 s (the form is left alone).
(function () {
  const list = document.getElementById("video-list");
  if (!list) return;
  async function refresh() {
    if (!list.querySelector("[data-live]")) return;
    try {
      const resp = await fetch(location.pathname, {credentials: "same-origin", cache: "no-store"});
      const fresh = resp.ok && new DOMParser().parseFromString(await resp.text(), "text/html")
        .getElementById("video-list");
      if (fresh) list.replaceChildren(...Array.from(fresh.childNodes, (n) => document.importNode(n, true)));
    } catch (err) {
      // offline for a moment: try again on the next tick
    }
    setTimeout(refresh, 2000);
  }
  setTimeout(refresh, 2000);
})();
