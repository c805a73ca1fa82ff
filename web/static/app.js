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
  // A pasted paragraph keeps its line breaks as spaces (a one-line box would join the lines' words).
  var box = document.getElementById("q");
  if (box) {
    box.addEventListener("paste", function (event) {
      var text = event.clipboardData && event.clipboardData.getData("text");
      if (!text || text.indexOf("\n") < 0) return;
      event.preventDefault();
      var flat = text.replace(/\s+/g, " ");
      var start = box.selectionStart, end = box.selectionEnd;
      box.value = box.value.slice(0, start) + flat + box.value.slice(end);
    });
  }
  // The upload page: files dropped anywhere on the drop zone go into its file input.
  var drop = document.getElementById("drop"), chosen = document.getElementById("files");
  if (drop && chosen) {
    ["dragenter", "dragover"].forEach(function (name) {
      drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.add("over"); });
    });
    drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
    drop.addEventListener("drop", function (event) {
      event.preventDefault();
      drop.classList.remove("over");
      if (event.dataTransfer && event.dataTransfer.files.length) chosen.files = event.dataTransfer.files;
    });
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
