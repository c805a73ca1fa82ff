// Progressive enhancement only: every page works without this file.
// "/" focuses the query box; "j"/"k" move between results and Enter opens one; Esc leaves the box.
(function () {
  "use strict";
  var current = -1;
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.isContentEditable);
  }
  function hits() { return document.querySelectorAll(".results .hit h3 a"); }
  function move(step) {
    var links = hits();
    if (!links.length) return;
    if (current >= 0 && links[current]) links[current].closest(".hit").classList.remove("kbd");
    current = Math.max(0, Math.min(links.length - 1, current + step));
    links[current].closest(".hit").classList.add("kbd");
    links[current].focus();
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var box = document.getElementById("q");
    if (event.key === "Escape" && typing(document.activeElement)) { document.activeElement.blur(); return; }
    if (typing(document.activeElement)) return;
    if (event.key === "/" && box) { event.preventDefault(); box.focus(); box.select(); }
    else if (event.key === "j") { move(1); }
    else if (event.key === "k") { move(-1); }
  });
})();
