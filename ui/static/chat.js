/* PolicyChat chat page: keep the start of each new answer in view.
 *
 * Gradio's own autoscroll (off) follows a streaming answer to the bottom, so a long answer
 * scrolls its text away and leaves only the last sources in view. Instead, when a question is
 * added its row is pinned to the top of the conversation while the answer streams in below it;
 * the pin is released as soon as the person scrolls themselves.
 */
(function () {
  "use strict";
  var seen = 0, pinned = null, box = null;

  function scroller(node) {
    for (var el = node && node.parentElement; el && el !== document.body; el = el.parentElement) {
      if (/(auto|scroll)/.test(getComputedStyle(el).overflowY)) return el;
    }
    return null;
  }

  function keepPinned() {
    if (!pinned || !box || !pinned.isConnected) return;
    var top = pinned.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop - 8;
    box.scrollTop = Math.max(0, Math.min(top, box.scrollHeight - box.clientHeight));
  }

  function release() { pinned = null; }

  function check() {
    var chat = document.getElementById("pc-chat");
    if (!chat) return;
    var questions = chat.querySelectorAll(".pc-question");
    if (questions.length > seen) {
      var q = questions[questions.length - 1];
      pinned = q.closest(".message-row") || q;
      var found = scroller(pinned);
      if (found !== box) {
        box = found;
        if (box) ["wheel", "touchmove", "keydown", "mousedown"].forEach(function (type) {
          box.addEventListener(type, release, { passive: true });
        });
      }
    }
    seen = questions.length;
    keepPinned();
  }

  new MutationObserver(function () { window.requestAnimationFrame(check); })
    .observe(document.documentElement, { childList: true, subtree: true, characterData: true });
})();
