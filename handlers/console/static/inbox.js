// The inbox redraws itself when a handoff changes anywhere: a server-sent event per
// change, then the list fetched again (the server renders it, escaped as every page).
(function () {
  const list = document.getElementById("inbox");
  const live = document.getElementById("live");
  if (!list || !window.EventSource) return;
  const url = new URL(window.location.href);
  url.searchParams.set("part", "list");
  let fetching = null;
  async function refresh() {
    if (fetching) return fetching;
    fetching = fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(async (response) => {
        if (response.ok && !list.contains(document.activeElement)) list.innerHTML = await response.text();
        else if (response.ok) list.dataset.stale = "yes";
      })
      .finally(() => { fetching = null; });
    return fetching;
  }
  // A reply being typed is not wiped by someone else's change: the list redraws once
  // the rep leaves the text box.
  list.addEventListener("focusout", () => { if (list.dataset.stale) { delete list.dataset.stale; refresh(); } });
  const source = new EventSource("/console/handoffs/events");
  source.addEventListener("open", () => { live.textContent = "live"; live.className = "on"; refresh(); });
  source.addEventListener("error", () => { live.textContent = "reconnecting…"; live.className = ""; });
  source.addEventListener("handoff", refresh);
})();
