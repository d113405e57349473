// certseal web pages: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Confirm before a form that changes something serious (data-confirm="...").
  document.addEventListener("submit", function (e) {
    var msg = (e.submitter && e.submitter.getAttribute("data-confirm")) || e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  });

  // Downloads with a progress bar: <a data-progress href="..."> fetches the file, shows how
  // much has arrived in the <progress> after it, then hands it to the browser to save.
  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a[data-progress]") : null;
    if (!a || !window.fetch || !window.ReadableStream) { return; }
    e.preventDefault();
    var box = document.getElementById("progress");
    var bar = box.querySelector("progress");
    var label = box.querySelector("span");
    box.hidden = false;
    bar.removeAttribute("value");
    label.textContent = "正在生成：" + a.textContent;
    fetch(a.href, { credentials: "same-origin" }).then(function (resp) {
      if (!resp.ok) { throw new Error("服务器返回 " + resp.status); }
      var total = parseInt(resp.headers.get("Content-Length") || "0", 10);
      var name = a.getAttribute("download") || "export";
      var reader = resp.body.getReader();
      var chunks = [], got = 0;
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) { return; }
          chunks.push(r.value);
          got += r.value.length;
          if (total > 0) { bar.max = total; bar.value = got; }
          label.textContent = "正在下载：" + a.textContent + "（" + Math.round(got / 1024) + " KB" + (total > 0 ? " / " + Math.round(total / 1024) + " KB" : "") + "）";
          return pump();
        });
      }
      return pump().then(function () {
        var blob = new Blob(chunks, { type: resp.headers.get("Content-Type") || "application/octet-stream" });
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = name;
        document.body.appendChild(link);
        link.click();
        link.remove();
        bar.max = 1; bar.value = 1;
        label.textContent = "已完成：" + a.textContent;
      });
    }).catch(function (err) {
      label.textContent = "导出失败：" + err.message;
    });
  });

  // Batch progress: the batch page (data-status-url) polls its status every second, moves the
  // bar and the numbers, and reloads once the batch is finished (for the ZIP link and the
  // failed rows). Without this file the page shows the numbers and a refresh link.
  var batch = document.querySelector("[data-status-url]");
  if (batch && window.fetch) {
    var set = function (id, v) { var el = document.getElementById(id); if (el) { el.textContent = v; } };
    var poll = function () {
      fetch(batch.getAttribute("data-status-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } }).then(function (resp) {
        if (!resp.ok) { throw new Error("服务器返回 " + resp.status); }
        return resp.json();
      }).then(function (s) {
        var bar = document.getElementById("batch-bar");
        bar.max = s.max;
        bar.value = s.value;
        bar.textContent = s.percent + "%";
        set("batch-pct", s.percent + "%");
        set("batch-label", s.label);
        set("batch-text", s.text);
        set("batch-total", s.total);
        set("batch-checked", s.checked);
        set("batch-done", s.done);
        set("batch-failed", s.failed);
        if (s.finished) { window.location.reload(); return; }
        setTimeout(poll, 1000);
      }).catch(function (err) {
        set("batch-text", "无法获取进度（" + err.message + "），请刷新页面。");
      });
    };
    setTimeout(poll, 1000);
  }

  // Live template preview: on the template page, re-render the PDF while the values change.
  var form = document.getElementById("template-preview");
  if (form && window.fetch) {
    var frame = document.getElementById("preview-frame");
    var status = document.getElementById("preview-status");
    var timer = null, url = null;
    var refresh = function () {
      status.textContent = "正在生成预览…";
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" }).then(function (resp) {
        if (!resp.ok) { return resp.text().then(function (t) { throw new Error(t); }); }
        return resp.blob();
      }).then(function (blob) {
        if (url) { URL.revokeObjectURL(url); }
        url = URL.createObjectURL(blob);
        frame.src = url;
        status.textContent = "预览已更新";
      }).catch(function (err) {
        status.textContent = "预览失败：" + err.message;
      });
    };
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 600);
    });
    form.addEventListener("submit", function (e) { e.preventDefault(); refresh(); });
  }

  // The organisation form checks the unified social credit code (GB 32100-2015) as it is typed
  // and names the area code; the server checks both again.
  var usccChars = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  var usccWeights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  var usccMessage = function (v) {
    if (v === "") { return ""; }
    if (v.length !== 18) { return "统一社会信用代码应为18位，现为" + v.length + "位"; }
    var sum = 0;
    for (var i = 0; i < 17; i++) {
      var x = usccChars.indexOf(v.charAt(i));
      if (x < 0) { return "第" + (i + 1) + "位“" + v.charAt(i) + "”不是允许的字符"; }
      sum += x * usccWeights[i];
    }
    if (!/^[0-9]{6}$/.test(v.substring(2, 8))) { return "第3至8位应为行政区划代码"; }
    var c = usccChars.charAt((31 - sum % 31) % 31);
    if (v.charAt(17) !== c) { return "校验位错误：第18位应为“" + c + "”，现为“" + v.charAt(17) + "”"; }
    return "ok";
  };
  document.querySelectorAll("[data-uscc-check]").forEach(function (input) {
    var msg = input.parentNode.querySelector("[data-uscc-msg]");
    // The server's message under the field (after a refused form) stands until the field changes.
    var server = input.parentNode.querySelector(".fieldmsg:not([data-uscc-msg])");
    var check = function () {
      var v = input.value.trim().toUpperCase();
      var m = usccMessage(v);
      msg.textContent = m === "ok" ? "校验位正确" : m;
      msg.className = m === "ok" || m === "" ? "hint ok" : "fieldmsg";
    };
    input.addEventListener("input", function () { if (server) { server.hidden = true; } check(); });
    if (input.value && !server) { check(); }
  });
  document.querySelectorAll("[data-area-check]").forEach(function (input) {
    var out = input.parentNode.querySelector("[data-area-name]");
    var list = document.getElementById(input.getAttribute("list"));
    var server = input.parentNode.querySelector(".fieldmsg:not([data-area-name])");
    var show = function () {
      var v = input.value.trim(), name = "";
      if (list) { list.querySelectorAll("option").forEach(function (o) { if (o.value === v) { name = o.textContent; } }); }
      var bad = v !== "" && !/^[0-9]{6}$/.test(v);
      out.textContent = bad ? (server && !server.hidden ? "" : "行政区划代码应为6位数字，如 510802") : name;
      out.className = bad ? "fieldmsg" : "hint";
    };
    input.addEventListener("input", function () { if (server) { server.hidden = true; } show(); });
    show();
  });

  // The user form offers only the roles that fit the chosen organisation's kind.
  document.querySelectorAll("[data-role-filter]").forEach(function (org) {
    var role = document.getElementById(org.getAttribute("data-role-filter"));
    var filter = function () {
      var opt = org.options[org.selectedIndex];
      var kind = opt ? opt.getAttribute("data-kind") : "";
      var first = null;
      Array.prototype.forEach.call(role.options, function (o) {
        var fits = (" " + o.getAttribute("data-kinds") + " ").indexOf(" " + kind + " ") >= 0;
        o.hidden = !fits;
        o.disabled = !fits;
        if (fits && !first) { first = o; }
      });
      var cur = role.options[role.selectedIndex];
      if ((!cur || cur.disabled) && first) { first.selected = true; }
    };
    org.addEventListener("change", filter);
    filter();
  });

  // Print buttons.
  document.addEventListener("click", function (e) {
    if (e.target.matches && e.target.matches("[data-print]")) { window.print(); }
  });
})();
