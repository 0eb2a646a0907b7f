// The modeler page: the Camunda 7 distribution of bpmn-js (window.BpmnModeler, served from /vendor/)
// with its properties panel, Chinese labels (bpmn-js-i18n plus the panel's labels below), the server's
// validation shown as a list and as markers on the elements, drafts, download and deploy. A save
// sends the draft's revision (a hidden field of the form): the server refuses it when someone saved
// the draft since, and the page it answers shows the conflict with the choices.
(function () {
  "use strict";

  // The properties panel's most visible labels; bpmn-js-i18n translates the palette and menus.
  var PANEL_ZH = {
    "General": "常规", "Name": "名称", "ID": "编号", "Documentation": "文档", "Element documentation": "元素说明",
    "Process documentation": "流程说明", "Process name": "流程名称", "Process ID": "流程编号",
    "Executable": "可执行", "Version tag": "版本标签", "Tasklist": "任务列表", "Startable": "可发起",
    "User assignment": "办理人", "Assignee": "指定办理人", "Candidate groups": "候选角色",
    "Candidate users": "候选人员", "Due date": "截止日期", "Follow up date": "跟进日期", "Priority": "优先级",
    "Forms": "表单", "Form fields": "表单字段", "Form key": "表单键", "Type": "类型", "Label": "标签",
    "Default value": "默认值", "Values": "选项", "Value": "值", "Constraints": "校验约束", "Config": "配置",
    "Properties": "属性", "Extension properties": "扩展属性", "Timer": "定时器", "Date": "日期",
    "Duration": "期间", "Cycle": "周期", "Condition": "条件", "Condition Expression": "条件表达式",
    "Expression": "表达式", "Script": "脚本", "Script type": "脚本类型", "Inline script": "内联脚本",
    "Format": "格式", "Result variable": "结果变量", "Implementation": "实现方式",
    "Multi-instance": "多实例", "Loop cardinality": "循环次数", "Collection": "集合",
    "Element variable": "元素变量", "Completion condition": "完成条件",
    "Asynchronous continuations": "异步延续", "Asynchronous before": "之前异步", "Asynchronous after": "之后异步",
    "Execution listeners": "执行监听器", "Task listeners": "任务监听器", "Inputs": "输入", "Outputs": "输出",
    "Message": "消息", "Signal": "信号", "Error": "错误", "Escalation": "升级", "Link": "链接",
    "Generated Task Forms": "生成的任务表单", "Embedded or External Task Forms": "嵌入或外部任务表单",
    "Camunda Forms": "Camunda 表单", "Custom properties": "自定义属性", "Create new list item": "新增一项",
    "Delete item": "删除此项", "Toggle section": "展开/收起", "Select an element to edit its properties.":
    "选择一个元素以编辑其属性。", "Specify more than one group as a comma separated list.": "多个角色以英文逗号分隔。",
    "Specify more than one user as a comma separated list.": "多个人员以英文逗号分隔。",
    "A time duration defined as ISO 8601 durations format.": "ISO 8601 期间格式，例如 P5D 表示 5 天。",
    "Must not be empty.": "不能为空。", "ID must be unique.": "编号必须唯一。", "ID must not be empty.": "编号不能为空。",
    "ID must not contain spaces.": "编号不能包含空格。", "ID must be a valid QName.": "编号格式无效。",
    "Search in diagram": "在图中搜索", "Open minimap": "打开小地图", "Close minimap": "关闭小地图",
    "Set color": "设置颜色", "Change element": "更改元素类型", "Append element": "追加元素", "Create element": "创建元素",
    "Section contains an error": "此部分有错误", "Section contains edits": "此部分已编辑",
    "string": "文本", "long": "整数", "boolean": "是/否", "date": "日期", "enum": "枚举", "<none>": "<无>",
    "<empty>": "<空>", "Initiator": "发起人", "Start initiator": "发起人变量", "Candidate starter": "可发起者",
    "Candidate starter groups": "可发起角色", "Candidate starter users": "可发起人员", "Called element": "被调用流程",
    "Business key": "业务键", "Job execution": "作业执行", "History cleanup": "历史清理", "Time to live": "保留期限",
    "External task": "外部任务", "Process variables": "流程变量", "Inputs/Outputs": "输入/输出",
    "Templates": "模板", "Template": "模板", "Variable name": "变量名", "Key": "键", "Source": "来源", "Target": "目标"
  };

  var page, modeler, dirty = false, submitting = false, problemOverlays = [];

  function message(name) {
    return page.getAttribute("data-msg-" + name) || "";
  }

  function setStatus(text, isError) {
    var status = page.querySelector(".modeler-status");
    if (!status) { return; }
    status.hidden = !text;
    status.textContent = text || "";
    status.classList.toggle("error", !!isError);
  }

  function translator(dictionary) {
    return function translate(template, replacements) {
      var text = dictionary[template] || template;
      replacements = replacements || {};
      return text.replace(/{([^}]+)}/g, function (_all, key) {
        return Object.prototype.hasOwnProperty.call(replacements, key) ? replacements[key] : "{" + key + "}";
      });
    };
  }

  function loadTranslations() {
    var url = page.getAttribute("data-translations");
    if (!url) { return Promise.resolve(null); }
    return import(url).then(function (module) {
      return Object.assign({}, module["default"], PANEL_ZH);
    }, function (error) {
      if (window.console) { window.console.warn("modeler translations:", error); }
      return Object.assign({}, PANEL_ZH);
    });
  }

  function start() {
    page = document.getElementById("modeler");
    if (!page) { return; }
    // A page the server gave back refused (a save in conflict, a diagram with errors) holds what was
    // posted and is saved nowhere: leaving it asks first, like an edited one.
    dirty = page.getAttribute("data-unsaved") === "yes";
    bindForm();
    bindProblemList(page.querySelector("#problems"));
    if (page.getAttribute("data-modeler") !== "yes") { return; }
    if (typeof window.BpmnModeler !== "function") {
      failed("modeler script missing");
      return;
    }
    loadTranslations().then(function (dictionary) {
      var modules = dictionary ? [{ translate: ["value", translator(dictionary)] }] : [];
      modeler = new window.BpmnModeler({
        container: "#modeler-canvas",
        propertiesPanel: { parent: "#modeler-properties" },
        additionalModules: modules
      });
      window.govflowModeler = modeler;  // web/static/dryrun.js marks a dry run's path on it
      return modeler.importXML(page.querySelector("#diagram-xml").value);
    }).then(function (result) {
      var workspace = page.querySelector(".modeler-workspace");
      workspace.setAttribute("data-state", "ready");
      setStatus("");
      if (result && result.warnings && result.warnings.length && window.console) {
        window.console.warn("modeler import warnings:", result.warnings);
      }
      modeler.get("canvas").zoom("fit-viewport", "auto");
      modeler.on("commandStack.changed", function () { dirty = true; });
      markListed();
      if (page.getAttribute("data-check-on-load") === "yes") { validate(); }
    }).catch(function (error) {
      failed(error && error.message ? error.message : error);
    });
  }

  function failed(error) {
    var workspace = page.querySelector(".modeler-workspace");
    if (workspace) { workspace.setAttribute("data-state", "failed"); }
    setStatus(message("import-failed") + " " + error, true);
    if (window.console) { window.console.warn("modeler:", error); }
  }

  // The diagram as the modeler holds it now (or as the page brought it, without the modeler).
  function currentXml() {
    var field = page.querySelector("#diagram-xml");
    if (!modeler) { return Promise.resolve(field.value); }
    return modeler.saveXML({ format: true }).then(function (result) {
      field.value = result.xml;
      return result.xml;
    });
  }

  function bindForm() {
    var form = page.querySelector("#diagram-form");
    form.addEventListener("submit", function (event) {
      if (submitting) { return; }
      event.preventDefault();
      var action = event.submitter && event.submitter.hasAttribute("formaction") ? event.submitter.formAction : form.action;
      currentXml().then(function () {
        submitting = true;
        form.action = action;
        form.submit();
      });
    });
    page.querySelector("#validate-button").addEventListener("click", validate);
    page.querySelector("#download-button").addEventListener("click", download);
    window.addEventListener("beforeunload", function (event) {
      if (dirty && !submitting) {
        event.preventDefault();
        event.returnValue = message("unsaved");
      }
    });
    var upload = page.querySelector(".modeler-upload");
    if (upload) { upload.addEventListener("submit", function () { submitting = true; }); }
  }

  function download() {
    currentXml().then(function (xml) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([xml], { type: "application/xml" }));
      link.download = page.getAttribute("data-filename") || "diagram.bpmn";
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
    });
  }

  function validate() {
    var status = page.querySelector("#problems-status");
    status.textContent = message("validating");
    currentXml().then(function (xml) {
      var body = new FormData();
      body.append("csrf_token", page.querySelector("#diagram-form [name=csrf_token]").value);
      body.append("xml", xml);
      return fetch(page.getAttribute("data-validate-url"), {
        method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" }
      });
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (report) {
      showReport(report);
    }).catch(function (error) {
      status.textContent = message("failed");
      if (window.console) { window.console.warn("validation:", error); }
    });
  }

  function showReport(report) {
    var list = page.querySelector("#problems");
    var status = page.querySelector("#problems-status");
    list.textContent = "";
    report.problems.forEach(function (problem) { list.appendChild(problemItem(problem)); });
    status.textContent = report.problems.length ? message("summary").replace("{errors}", report.errors)
      .replace("{warnings}", report.warnings) : message("none");
    if (!report.lint) {
      var note = document.createElement("span");
      note.className = "muted";
      note.textContent = " " + message("no-lint");
      status.appendChild(note);
    }
    page.querySelector("#problems-card").setAttribute("data-state", report.ok ? "ok" : "errors");
    markListed();
  }

  function problemItem(problem) {
    var item = document.createElement("li");
    item.className = "problem severity-" + problem.severity;
    if (problem.element_id) { item.setAttribute("data-element", problem.element_id); }
    var badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = message(problem.severity);
    var element = document.createElement("button");
    element.type = "button";
    element.className = "link element";
    element.textContent = problem.element_name || problem.element_id || message("whole");
    if (problem.element_name && problem.element_id) {
      var code = document.createElement("code");
      code.textContent = problem.element_id;
      element.appendChild(document.createTextNode(" "));
      element.appendChild(code);
    }
    var text = document.createElement("span");
    text.className = "message";
    text.textContent = problem.message;
    item.appendChild(badge);
    item.appendChild(element);
    item.appendChild(text);
    return item;
  }

  function bindProblemList(list) {
    list.addEventListener("click", function (event) {
      var item = event.target.closest("li[data-element]");
      if (!item || !modeler) { return; }
      var element = modeler.get("elementRegistry").get(item.getAttribute("data-element"));
      if (element) {
        modeler.get("selection").select(element);
        modeler.get("canvas").scrollToElement(element);
      }
    });
  }

  // Markers (gf-error, gf-warning) and a count badge on every element the list names.
  function markListed() {
    if (!modeler) { return; }
    var canvas = modeler.get("canvas"), overlays = modeler.get("overlays"), registry = modeler.get("elementRegistry");
    registry.forEach(function (element) {
      canvas.removeMarker(element, "gf-error");
      canvas.removeMarker(element, "gf-warning");
    });
    problemOverlays.forEach(function (id) { overlays.remove(id); });
    problemOverlays = [];
    var found = {};
    page.querySelectorAll("#problems li[data-element]").forEach(function (item) {
      var id = item.getAttribute("data-element");
      var entry = found[id] || (found[id] = { errors: 0, warnings: 0, texts: [] });
      if (item.classList.contains("severity-error")) { entry.errors += 1; } else { entry.warnings += 1; }
      entry.texts.push(item.querySelector(".message").textContent);
    });
    Object.keys(found).forEach(function (id) {
      var element = registry.get(id);
      if (!element) { return; }
      var entry = found[id], severity = entry.errors ? "error" : "warning";
      canvas.addMarker(element, "gf-" + severity);
      var badge = document.createElement("div");
      badge.className = "gf-problem-badge gf-problem-" + severity;
      badge.textContent = String(entry.errors + entry.warnings);
      badge.title = entry.texts.join("\n");
      problemOverlays.push(overlays.add(element, "gf-problems", {
        position: { top: -10, right: 10 }, html: badge
      }));
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
