// Videos page: while a job is queued or in progress, the list refreshes every 2 s. Cards whose job did not
// change stay as they are (a playing video keeps playing); the create form is left alone.
(function () {
  const list = document.getElementById("video-list");
  if (!list) return;
  function merge(fresh) {
    const old = new Map(Array.from(list.querySelectorAll("li[data-id]"), (li) => [li.dataset.id, li]));
    const items = Array.from(fresh.children, (li) => {
      const kept = old.get(li.dataset.id);
      const same = kept && kept.dataset.status === li.dataset.status && !li.hasAttribute("data-live");
      return same ? kept : document.importNode(li, true);
    });
    list.replaceChildren(...items);
  }
  async function refresh() {
    if (!list.querySelector("[data-live]")) return;
    try {
      const resp = await fetch(location.pathname, {credentials: "same-origin", cache: "no-store"});
      const fresh = resp.ok && new DOMParser().parseFromString(await resp.text(), "text/html")
        .getElementById("video-list");
      if (fresh) merge(fresh);
    } catch (err) {
      // offline for a moment: try again on the next tick
    }
    setTimeout(refresh, 2000);
  }
  setTimeout(refresh, 2000);
})();
