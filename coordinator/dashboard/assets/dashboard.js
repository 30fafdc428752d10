// mesaopt dashboard: keeps a page's live part (main#live) current. Every
// data-poll milliseconds it fetches data-live, the same part rendered
// anew, and swaps it in when its data-version differs; it stops once the
// part says data-final="true" (the run or sweep ended). Without this
// script the pages are plain HTML, current when loaded.
(function () {
  "use strict";
  var updates = 0;
  var failures = 0;

  function say(text) {
    var el = document.getElementById("updated");
    if (el) { el.textContent = text; }
  }

  function clock() {
    return new Date().toLocaleTimeString();
  }

  // preload resolves once img's source is loaded, or failed to: the swap
  // then shows what the coordinator answered.
  function preload(img) {
    return new Promise(function (resolve) {
      var probe = new Image();
      probe.onload = probe.onerror = function () { resolve(); };
      probe.src = img.getAttribute("src");
    });
  }

  function schedule() {
    var cur = document.getElementById("live");
    if (!cur || cur.dataset.final === "true") {
      say(cur ? "final as of " + clock() : "");
      return;
    }
    var wait = parseInt(cur.dataset.poll, 10) || 2000;
    // Back off while the coordinator does not answer, up to 30 s.
    wait = Math.min(wait * Math.pow(2, failures), 30000);
    window.setTimeout(poll, wait);
  }

  function poll() {
    var cur = document.getElementById("live");
    fetch(cur.dataset.live, { cache: "no-store", credentials: "same-origin" })
      .then(function (resp) {
        if (!resp.ok) {
          throw new Error("the coordinator answered " + resp.status);
        }
        return resp.text();
      })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var next = doc.getElementById("live");
        var now = document.getElementById("live");
        if (!next || !now || next.dataset.version === now.dataset.version) {
          return;
        }
        // Load the new charts before the swap, so that none blinks out.
        return Promise.all(Array.from(next.querySelectorAll("img")).map(preload)).then(function () {
          document.getElementById("live").replaceWith(document.adoptNode(next));
          updates++;
          document.body.dataset.updates = String(updates);
        });
      })
      .then(function () {
        failures = 0;
        say("live · updated " + clock());
      })
      .catch(function (err) {
        failures++;
        say("not updated since " + clock() + ": " + err.message + "; retrying");
      })
      .finally(schedule);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.body.dataset.updates = "0";
    schedule();
  });
})();
