// 试运行 (dry run) on the modeler page: a button in the toolbar posts the diagram as the modeler holds
// it to /modeler/dryrun (engine.dryrun walks its paths in memory) and lists the paths in a side
// panel: each with its steps, its deadlines and its outcome; choosing one marks its elements and the
// flows its gateways took on the diagram (bpmn-js markers, as the case page's diagram does).
(function () {
  "use strict";

  var page, panel, list, status, button, marked = [], data = null;
  var english = (document.documentElement.lang || "").indexOf("en") === 0;

  function init() {
    page = document.getElementById("modeler");
    var toolbar = page && page.querySelector(".modeler-toolbar");
    if (!toolbar || !page.getAttribute("data-validate-url")) { return; }
    var style = document.createElement("link");
    style.rel = "stylesheet";
    style.href = scriptBase() + "dryrun.css";
    document.head.appendChild(style);
    button = document.createElement("button");
    button.type = "button";
    button.id = "dryrun-button";
    button.className = "secondary";
    button.textContent = english ? "Dry run" : "试运行";
    button.addEventListener("click", run);
    var validate = toolbar.querySelector("#validate-button");
    toolbar.insertBefore(button, validate ? validate.nextSibling : null);
    panel = document.createElement("aside");
    panel.id = "dryrun-panel";
    panel.className = "dryrun-panel";
    panel.hidden = true;
    panel.setAttribute("aria-live", "polite");
    var head = document.createElement("header");
    var title = document.createElement("h2");
    title.id = "dryrun-title";
    head.appendChild(title);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "secondary dryrun-close";
    close.id = "dryrun-close";
    close.textContent = english ? "Close" : "关闭";
    close.addEventListener("click", function () { panel.hidden = true; unmark(); });
    head.appendChild(close);
    panel.appendChild(head);
    status = document.createElement("p");
    status.className = "muted dryrun-status";
    panel.appendChild(status);
    list = document.createElement("ol");
    list.className = "dryrun-paths";
    panel.appendChild(list);
    toolbar.parentNode.insertBefore(panel, toolbar.nextSibling);
  }

  function scriptBase() {
    var found = document.querySelector("script[src*='dryrun.js']");
    return found ? found.src.replace(/dryrun\.js.*$/, "") : "/static/";
  }

  function currentXml() {
    var modeler = window.govflowModeler;
    var field = page.querySelector("#diagram-xml");
    if (!modeler) { return Promise.resolve(field.value); }
    return modeler.saveXML({ format: true }).then(function (result) { return result.xml; });
  }

  function run() {
    panel.hidden = false;
    list.textContent = "";
    unmark();
    page.querySelector("#dryrun-title").textContent = english ? "Dry run" : "试运行";
    status.textContent = english ? "Walking the paths…" : "正在试运行各条路径…";
    button.disabled = true;
    currentXml().then(function (xml) {
      var body = new FormData();
      body.append("csrf_token", page.querySelector("#diagram-form [name=csrf_token]").value);
      body.append("xml", xml);
      var url = page.getAttribute("data-validate-url").replace(/validate$/, "dryrun");
      return fetch(url, { method: "POST", body: body, credentials: "same-origin",
                          headers: { Accept: "application/json" } });
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(show).catch(function (error) {
      status.textContent = (english ? "The dry run failed. " : "试运行失败。") + (error && error.message || "");
      if (window.console) { window.console.warn("dry run:", error); }
    }).then(function () { button.disabled = false; });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function when(iso) {
    // "2026-03-12T00:00:00+08:00" -> "2026-03-12 00:00" (Beijing time, as the engine answers it)
    return iso ? iso.replace("T", " ").slice(0, 16) : "";
  }

  function show(found) {
    data = found;
    var L = found.labels;
    page.querySelector("#dryrun-title").textContent = L.title;
    var notes = [];
    if (found.started_at) { notes.push(L.started_at + " " + when(found.started_at)); }
    if (found.truncated) { notes.push(L.truncated); }
    if (found.stand_ins && found.stand_ins.length) { notes.push(L.stand_ins + " " + found.stand_ins.join(", ")); }
    found.problems.forEach(function (p) { notes.push(L.problems + ": " + p); });
    if (!found.paths.length && !found.problems.length) { notes.push(L.none); }
    status.textContent = notes.join(" · ");
    found.paths.forEach(function (path, index) { list.appendChild(pathItem(path, index, L)); });
    if (found.paths.length) { select(0); }
  }

  function pathItem(path, index, L) {
    var item = el("li", "dryrun-path" + (path.problems.length ? " has-problem" : ""));
    item.setAttribute("data-index", String(index));
    var choose = el("button", "dryrun-choose");
    choose.type = "button";
    var outcome = path.outcome || (path.problems.length ? L.problems : L.no_outcome);
    choose.appendChild(el("strong", null, L.path + " " + (index + 1) + " → " + (path.end_name || path.end_id || "")));
    choose.appendChild(el("span", "dryrun-outcome outcome-" + (path.outcome || "none"), L.outcome + ": " + outcome));
    if (path.timers_fired) {
      choose.appendChild(el("span", "muted", " · " + path.timers_fired + " " + L.timers_fired));
    }
    choose.addEventListener("click", function () { select(index); });
    item.appendChild(choose);
    var detail = el("div", "dryrun-detail");
    var steps = el("ol", "dryrun-steps");
    path.steps.forEach(function (step) {
      var line = el("li", "step-" + step.kind);
      line.appendChild(el("span", "step-name", step.name || step.element_id));
      var extra = [];
      if (step.role) { extra.push(L.role + " " + step.role); }
      if (step.data) {
        Object.keys(step.data).forEach(function (k) { extra.push(k + " = " + step.data[k]); });
      }
      if (step.flow_id) { extra.push("→ " + (step.condition || L.default_flow)); }
      if (step.due) { extra.push((step.fired ? L.fired + " " : "") + when(step.due)); }
      if (extra.length) { line.appendChild(el("small", "muted", extra.join(" · "))); }
      steps.appendChild(line);
    });
    detail.appendChild(el("h3", null, L.steps));
    detail.appendChild(steps);
    if (path.deadlines.length) {
      detail.appendChild(el("h3", null, L.deadlines));
      var dl = el("ul", "dryrun-deadlines");
      path.deadlines.forEach(function (d) {
        var words = [d.name || d.element_id, when(d.due)];
        if (d.working_days) { words.push("(" + L.working_days + (d.provisional ? ", " + L.provisional : "") + ")"); }
        if (d.fired) { words.push("— " + L.fired); }
        dl.appendChild(el("li", d.fired ? "fired" : "", words.join(" ")));
      });
      detail.appendChild(dl);
    }
    if (path.problems.length) {
      detail.appendChild(el("h3", null, L.problems));
      var pl = el("ul", "dryrun-problems");
      path.problems.forEach(function (p) { pl.appendChild(el("li", null, p)); });
      detail.appendChild(pl);
    }
    item.appendChild(detail);
    return item;
  }

  function select(index) {
    Array.prototype.forEach.call(list.children, function (item) {
      var on = item.getAttribute("data-index") === String(index);
      item.classList.toggle("selected", on);
      item.querySelector(".dryrun-choose").setAttribute("aria-pressed", on ? "true" : "false");
    });
    mark(data.paths[index]);
  }

  function mark(path) {
    unmark();
    var modeler = window.govflowModeler;
    if (!modeler || !path) { return; }
    var canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry");
    var ids = path.elements.concat(path.flows);
    // the flows between consecutive steps of the path (not only those its gateways chose)
    registry.filter(function (e) { return e.type === "bpmn:SequenceFlow"; }).forEach(function (flow) {
      var s = flow.businessObject.sourceRef, t = flow.businessObject.targetRef;
      for (var i = 0; i + 1 < path.elements.length; i += 1) {
        if (s && t && s.id === path.elements[i] && t.id === path.elements[i + 1]) { ids.push(flow.id); }
      }
    });
    ids.forEach(function (id) {
      if (registry.get(id) && marked.indexOf(id) < 0) {
        canvas.addMarker(id, "dryrun-on-path");
        marked.push(id);
      }
    });
    if (path.end_id && registry.get(path.end_id)) {
      canvas.addMarker(path.end_id, "dryrun-end");
      marked.push(path.end_id);
    }
  }

  function unmark() {
    var modeler = window.govflowModeler;
    if (!modeler) { marked = []; return; }
    var canvas = modeler.get("canvas");
    marked.forEach(function (id) {
      canvas.removeMarker(id, "dryrun-on-path");
      canvas.removeMarker(id, "dryrun-end");
    });
    marked = [];
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
