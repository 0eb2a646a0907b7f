// The case page's diagram: bpmn-js's navigated viewer (served from /vendor/) shows the diagram the
// case runs on, with its completed, active and overdue elements marked (CSS classes gf-*).
(function () {
  "use strict";
  var MARKERS = { completed: "gf-completed", active: "gf-active", overdue: "gf-overdue" };

  function start() {
    var box = document.getElementById("case-diagram");
    if (!box || box.getAttribute("data-viewer") !== "yes") {
      return;
    }
    var status = box.querySelector(".diagram-status");
    if (typeof window.BpmnJS !== "function") {
      fail(box, status, "viewer script missing");
      return;
    }
    var viewer = new window.BpmnJS({ container: box.querySelector(".canvas") });
    fetch(box.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (found) {
        return viewer.importXML(found.xml).then(function () {
          mark(viewer, found);
          fitHeight(viewer, box.querySelector(".canvas"));
          status.hidden = true;
          box.setAttribute("data-state", "ready");
        });
      })
      .catch(function (error) {
        fail(box, status, error);
      });
  }

  function mark(viewer, found) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    Object.keys(MARKERS).forEach(function (state) {
      (found[state] || []).forEach(function (id) {
        if (registry.get(id)) {  // an element without a shape (no diagram interchange) is skipped
          canvas.addMarker(id, MARKERS[state]);
        }
      });
    });
  }

  // As tall as the diagram needs at the canvas's width, within bounds; set through the CSSOM,
  // which the Content-Security-Policy allows (inline style attributes it does not).
  function fitHeight(viewer, element) {
    var canvas = viewer.get("canvas");
    var inner = canvas.viewbox().inner;
    if (inner.width > 0) {
      var wanted = element.clientWidth * inner.height / inner.width + 48;
      element.style.height = Math.round(Math.max(280, Math.min(720, wanted))) + "px";
      canvas.resized();
    }
    canvas.zoom("fit-viewport", "auto");
  }

  function fail(box, status, error) {
    box.setAttribute("data-state", "failed");
    status.hidden = false;
    status.textContent = box.getAttribute("data-failed");
    if (window.console) {
      window.console.warn("case diagram:", error);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
