// The template designer (issue 21): lay a licence template out over the scan of its blank form
// with the mouse. Plain JavaScript, no framework, nothing from elsewhere (the page's CSP allows
// only this origin's scripts). The template is kept as the very JSON the API stores; every box
// on the sheet is a view of one rectangle in it. Checks, previews and saving are the server's.
(function () {
  'use strict';
  var root = document.getElementById('designer');
  if (!root) { return; }
  // A script error is kept on the page (data-error) for the browser tests to report.
  window.addEventListener('error', function (e) { root.dataset.error = e.message + ' @' + e.lineno; });
  var csrf = root.dataset.csrf;
  var sheet = document.getElementById('dz-sheet');
  var layer = document.getElementById('dz-boxes');
  var bg = document.getElementById('dz-bg');
  var props = document.getElementById('dz-props');
  var problemsEl = document.getElementById('dz-problems');
  var statusEl = document.getElementById('dz-status');
  var preview = document.getElementById('dz-preview');
  var typeSel = document.getElementById('dz-type');
  var systemFields = JSON.parse(root.dataset.system || '[]');
  var typeFields = JSON.parse(root.dataset.fields || '[]');
  var typeSample = JSON.parse(root.dataset.sample || '{}'); // the type's current template's sample record
  var MAXPX = 900; // the sheet's width on screen

  var tpl = root.dataset.template ? JSON.parse(root.dataset.template) : null;
  if (!tpl) {
    tpl = { id: '', name: '', page: { width: 210, height: 297 }, fields: [], seal: { x: 160, y: 250, diameter: 42 } };
  }
  delete tpl.version; // a save is always the next version
  var scan = root.dataset.scan || '';
  var selected = null; // the name of the selected box
  var undo = [], redo = [];
  var problems = [];

  // ---- the template's page and boxes ----
  var PAGES = { A3: [297, 420], A4: [210, 297], A5: [148, 210], B5: [176, 250] };
  function pageSize() {
    var p = tpl.page || {};
    var w = p.width, h = p.height;
    if (p.size && PAGES[p.size.toUpperCase()]) { w = PAGES[p.size.toUpperCase()][0]; h = PAGES[p.size.toUpperCase()][1]; }
    w = +w || 210; h = +h || 297;
    if (p.orientation === 'landscape' ? w < h : w > h) { var t = w; w = h; h = t; }
    return { w: w, h: h };
  }
  function scale() { return MAXPX / pageSize().w; }

  // items lists the template's rectangles, each with the name the server's messages use.
  function items() {
    var out = [];
    (tpl.background || []).forEach(function (e, i) {
      if (e.type === 'text' && e.box) {
        out.push({ kind: 'text', name: '文字“' + e.text + '”', label: '文字：' + e.text, obj: e.box, idx: i });
      }
    });
    (tpl.fields || []).forEach(function (f, i) {
      out.push({ kind: 'field', name: '字段“' + f.name + '”', label: f.name, obj: f.box, idx: i });
      if (f.label_box) {
        var l = f.label || f.name;
        out.push({ kind: 'label', name: '标签“' + l + '”', label: '标签：' + l, obj: f.label_box, idx: i });
      }
    });
    if (tpl.licence_number) {
      out.push({ kind: 'number', name: '证照编号', label: '证照编号', obj: tpl.licence_number.box });
      if (tpl.licence_number.label_box) {
        out.push({ kind: 'number_label', name: '标签“' + (tpl.licence_number.label || '') + '”', label: '标签：' + (tpl.licence_number.label || ''), obj: tpl.licence_number.label_box });
      }
    }
    if (tpl.qr) {
      out.push({ kind: 'qr', name: '二维码', label: '二维码', obj: tpl.qr });
      if (tpl.qr.caption_box) { out.push({ kind: 'qr_caption', name: '二维码说明', label: '二维码说明', obj: tpl.qr.caption_box }); }
    }
    if (tpl.seal) { out.push({ kind: 'seal', name: '印章', label: '印章 ' + tpl.seal.diameter + ' 毫米', obj: tpl.seal }); }
    return out;
  }
  function rectOf(it) {
    var o = it.obj;
    if (it.kind === 'qr') { return { x: o.x, y: o.y, w: o.size, h: o.size }; }
    if (it.kind === 'seal') { return { x: o.x - o.diameter / 2, y: o.y - o.diameter / 2, w: o.diameter, h: o.diameter }; }
    return { x: o.x, y: o.y, w: o.w, h: o.h };
  }
  function setRect(it, r) {
    var o = it.obj;
    if (it.kind === 'qr') { o.x = r.x; o.y = r.y; o.size = Math.max(10, Math.max(r.w, r.h)); return; }
    if (it.kind === 'seal') { o.x = r.x + o.diameter / 2; o.y = r.y + o.diameter / 2; return; } // the size is 42 or 45 mm
    o.x = r.x; o.y = r.y; o.w = r.w; o.h = r.h;
  }
  function find(name) {
    var all = items();
    for (var i = 0; i < all.length; i++) { if (all[i].name === name) { return all[i]; } }
    return null;
  }

  // ---- undo and redo: snapshots of the template ----
  function snapshot() { return JSON.stringify({ tpl: tpl, selected: selected }); }
  function change(fn) {
    undo.push(snapshot());
    if (undo.length > 200) { undo.shift(); }
    redo = [];
    fn();
    changed();
  }
  function restore(from, to) {
    if (!from.length) { return; }
    to.push(snapshot());
    var s = JSON.parse(from.pop());
    tpl = s.tpl; selected = s.selected;
    changed();
  }
  function changed() {
    document.getElementById('dz-undo').disabled = !undo.length;
    document.getElementById('dz-redo').disabled = !redo.length;
    document.getElementById('dz-delete').disabled = !selected || selected === '印章';
    draw();
    showProps();
    root.dataset.preview = 'stale'; // until the preview of this change answers
    schedulePreview();
  }

  // ---- drawing the sheet ----
  function draw() {
    var ps = pageSize(), k = scale();
    sheet.style.width = Math.round(ps.w * k) + 'px';
    sheet.style.height = Math.round(ps.h * k) + 'px';
    sheet.style.backgroundSize = k * 10 + 'px ' + k * 10 + 'px';
    if (scan) { bg.src = '/designer/scan/' + scan; } else { bg.removeAttribute('src'); }
    while (layer.firstChild) { layer.removeChild(layer.firstChild); }
    items().forEach(function (it) {
      var r = rectOf(it);
      var d = document.createElement('div');
      d.className = 'dz-box ' + it.kind + (it.name === selected ? ' sel' : '');
      d.dataset.name = it.name;
      d.style.left = r.x * k + 'px';
      d.style.top = r.y * k + 'px';
      d.style.width = r.w * k + 'px';
      d.style.height = r.h * k + 'px';
      var n = document.createElement('span');
      n.className = 'dz-name';
      n.textContent = it.label;
      d.appendChild(n);
      var msgs = problems.filter(function (p) { return p.box === it.name || p.other_box === it.name; });
      if (msgs.length) {
        d.classList.add('bad');
        d.title = msgs.map(function (p) { return p.message; }).join('\n');
        if (it.name === selected || msgs.length) {
          var m = document.createElement('span');
          m.className = 'dz-msg';
          m.textContent = shortMsg(msgs[0], it.name);
          d.appendChild(m);
        }
      }
      if (it.kind !== 'seal') {
        var h = document.createElement('div');
        h.className = 'dz-handle';
        d.appendChild(h);
      }
      layer.appendChild(d);
    });
    var sz = document.getElementById('dz-w'), sh = document.getElementById('dz-h');
    if (document.activeElement !== sz) { sz.value = ps.w; }
    if (document.activeElement !== sh) { sh.value = ps.h; }
    var id = document.getElementById('dz-id'), nm = document.getElementById('dz-name'), mf = document.getElementById('dz-minfont');
    if (document.activeElement !== id) { id.value = tpl.id || ''; }
    if (document.activeElement !== nm) { nm.value = tpl.name || ''; }
    if (document.activeElement !== mf) { mf.value = tpl.min_font_size || ''; }
  }
  // shortMsg says a problem in a few words on the box itself (the whole message is its title).
  function shortMsg(p, name) {
    if (p.other_box) { return '与' + (p.box === name ? p.other_box : p.box) + '重叠'; }
    if (p.message.indexOf('超出页面') >= 0) { return '超出页面'; }
    return p.message.replace(/^模板“[^”]*”(中|的)?/, '');
  }

  // ---- the mouse: draw a new box, move a box, resize a box ----
  var drag = null;
  function mm(ev) {
    var b = sheet.getBoundingClientRect(), k = scale();
    return { x: (ev.clientX - b.left) / k, y: (ev.clientY - b.top) / k };
  }
  function snap(v) { return Math.round(v); }
  sheet.addEventListener('mousedown', function (ev) {
    if (ev.button !== 0) { return; }
    ev.preventDefault();
    var p = mm(ev);
    var boxEl = ev.target.closest('.dz-box');
    if (boxEl) {
      var it = find(boxEl.dataset.name);
      if (!it) { return; }
      selected = it.name;
      drag = { mode: ev.target.classList.contains('dz-handle') ? 'resize' : 'move', name: it.name, start: p, rect: rectOf(it), before: snapshot() };
      draw(); showProps();
      return;
    }
    drag = { mode: 'draw', start: { x: snap(p.x), y: snap(p.y) }, before: snapshot(), el: null };
  });
  document.addEventListener('mousemove', function (ev) {
    var p = mm(ev);
    document.getElementById('dz-pos').textContent = '位置：x ' + Math.round(p.x) + ' 毫米，y ' + Math.round(p.y) + ' 毫米';
    if (!drag) { return; }
    var k = scale();
    if (drag.mode === 'draw') {
      var x1 = Math.min(drag.start.x, snap(p.x)), y1 = Math.min(drag.start.y, snap(p.y));
      var x2 = Math.max(drag.start.x, snap(p.x)), y2 = Math.max(drag.start.y, snap(p.y));
      if (!drag.el) { drag.el = document.createElement('div'); drag.el.className = 'dz-box sel'; }
      if (!drag.el.parentNode) { layer.appendChild(drag.el); } // a redraw (a preview answering) took it away
      drag.rect = { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
      drag.el.style.left = x1 * k + 'px'; drag.el.style.top = y1 * k + 'px';
      drag.el.style.width = (x2 - x1) * k + 'px'; drag.el.style.height = (y2 - y1) * k + 'px';
      return;
    }
    var it = find(drag.name);
    if (!it) { return; }
    var dx = snap(p.x - drag.start.x), dy = snap(p.y - drag.start.y), r = drag.rect;
    if (drag.mode === 'move') {
      setRect(it, { x: snap(r.x + dx), y: snap(r.y + dy), w: r.w, h: r.h });
    } else {
      setRect(it, { x: r.x, y: r.y, w: Math.max(1, snap(r.w + dx)), h: Math.max(1, snap(r.h + dy)) });
    }
    drag.moved = true;
    draw();
  });
  document.addEventListener('mouseup', function () {
    if (!drag) { return; }
    var d = drag;
    drag = null;
    if (d.mode === 'draw') {
      if (d.el && d.el.parentNode) { d.el.parentNode.removeChild(d.el); }
      if (!d.rect || d.rect.w < 3 || d.rect.h < 3) { selected = null; changed(); return; } // a click: deselect
      undo.push(d.before); redo = [];
      addField(d.rect);
      changed();
      return;
    }
    if (d.moved) { undo.push(d.before); redo = []; changed(); }
  });

  // ---- adding and removing boxes ----
  function freeName() {
    for (var n = (tpl.fields || []).length + 1; ; n++) {
      var name = '字段' + n;
      if (!(tpl.fields || []).some(function (f) { return f.name === name; })) { return name; }
    }
  }
  function addField(r) {
    tpl.fields = tpl.fields || [];
    var f = { name: freeName(), type: 'text', box: { x: r.x, y: r.y, w: r.w, h: r.h, font_size: 12 } };
    tpl.fields.push(f);
    selected = '字段“' + f.name + '”';
  }
  function spot(w, h) { // a free place for a new box: below everything else
    var maxY = 10;
    items().forEach(function (it) { if (it.kind !== 'seal') { var r = rectOf(it); maxY = Math.max(maxY, r.y + r.h + 2); } });
    var ps = pageSize();
    return { x: 10, y: Math.min(maxY, Math.max(0, ps.h - h - 5)), w: w, h: h };
  }
  document.querySelectorAll('[data-add]').forEach(function (b) {
    b.addEventListener('click', function () {
      var kind = b.dataset.add;
      change(function () {
        if (kind === 'field') { addField(spot(60, 8)); }
        if (kind === 'text') {
          tpl.background = tpl.background || [];
          var t = '文字' + (tpl.background.length + 1);
          tpl.background.push({ type: 'text', text: t, box: Object.assign(spot(40, 8), { font_size: 12 }) });
          selected = '文字“' + t + '”';
        }
        if (kind === 'number') {
          if (!tpl.licence_number) { tpl.licence_number = { box: Object.assign(spot(60, 8), { font_size: 12 }) }; }
          selected = '证照编号';
        }
        if (kind === 'qr') {
          if (!tpl.qr) { var r = spot(30, 30); tpl.qr = { x: r.x, y: r.y, size: 30 }; }
          selected = '二维码';
        }
      });
    });
  });
  document.querySelectorAll('[data-seal]').forEach(function (b) {
    b.addEventListener('click', function () {
      change(function () {
        var d = +b.dataset.seal;
        tpl.seal = tpl.seal || { x: 160, y: 250 };
        tpl.seal.diameter = d;
        selected = '印章';
      });
    });
  });
  document.getElementById('dz-undo').addEventListener('click', function () { restore(undo, redo); });
  document.getElementById('dz-redo').addEventListener('click', function () { restore(redo, undo); });
  document.addEventListener('keydown', function (ev) {
    if (ev.target.closest && ev.target.closest('input, select, textarea')) { return; }
    if ((ev.ctrlKey || ev.metaKey) && ev.key === 'z') { ev.preventDefault(); restore(undo, redo); }
    if ((ev.ctrlKey || ev.metaKey) && ev.key === 'y') { ev.preventDefault(); restore(redo, undo); }
    if ((ev.key === 'Delete' || ev.key === 'Backspace') && selected) { ev.preventDefault(); removeSelected(); }
  });
  function removeSelected() {
    var it = find(selected);
    if (!it || it.kind === 'seal') { return; }
    change(function () {
      if (it.kind === 'field') {
        var f = tpl.fields[it.idx];
        tpl.fields.splice(it.idx, 1);
        if (tpl.sample && tpl.sample.values) { delete tpl.sample.values[f.name]; }
      } else if (it.kind === 'label') { delete tpl.fields[it.idx].label_box; }
      else if (it.kind === 'text') { tpl.background.splice(it.idx, 1); }
      else if (it.kind === 'number') { delete tpl.licence_number; if (tpl.overlay) { delete tpl.overlay.licence_number; } }
      else if (it.kind === 'number_label') { delete tpl.licence_number.label_box; }
      else if (it.kind === 'qr') { delete tpl.qr; if (tpl.overlay) { delete tpl.overlay.qr; } }
      else if (it.kind === 'qr_caption') { delete tpl.qr.caption_box; }
      selected = null;
    });
  }
  document.getElementById('dz-delete').addEventListener('click', removeSelected);

  // ---- the selected box's settings ----
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) { e.textContent = text; }
    return e;
  }
  function labelled(text, input) { var l = el('label', {}, text); l.appendChild(input); props.appendChild(l); return input; }
  function select(id, options, value) {
    var s = el('select', { id: id });
    options.forEach(function (o) { var op = el('option', { value: o[0] }, o[1]); if (o[0] === value) { op.selected = true; } s.appendChild(op); });
    return s;
  }
  function input(id, value, type) { var i = el('input', { id: id, type: type || 'text' }); i.value = value === undefined ? '' : value; return i; }
  function onCommit(e, fn) { e.addEventListener('change', function () { change(function () { fn(e); }); }); }

  function showProps() {
    while (props.firstChild) { props.removeChild(props.firstChild); }
    var it = selected && find(selected);
    if (!it) { props.appendChild(el('p', { 'class': 'hint' }, '点击一个框以设置它的内容。')); return; }
    props.appendChild(el('p', {}, it.label));
    if (it.kind === 'field') {
      var f = tpl.fields[it.idx];
      var nameIn = labelled('绑定字段', input('dz-p-name', f.name));
      nameIn.setAttribute('list', 'dz-fieldnames');
      onCommit(nameIn, function (e) { bindField(it.idx, e.value.trim()); });
      var lab = labelled('表单上的名称', input('dz-p-label', f.label || ''));
      onCommit(lab, function (e) { if (e.value.trim()) { f.label = e.value.trim(); } else { delete f.label; } });
      onCommit(labelled('类型', select('dz-p-type', [['text', '文字'], ['date', '日期'], ['number', '数字'], ['enum', '选项']], f.type)), function (e) { f.type = e.value; });
      var req = input('dz-p-required', '', 'checkbox'); req.checked = !!f.required;
      onCommit(labelled('必填', req), function (e) { f.required = e.checked || undefined; });
    }
    if (it.kind === 'text') {
      var e = tpl.background[it.idx];
      onCommit(labelled('文字', input('dz-p-text', e.text)), function (x) { e.text = x.value; selected = '文字“' + x.value + '”'; });
    }
    if (it.kind === 'seal') {
      onCommit(labelled('印章直径', select('dz-p-diameter', [['42', '42 毫米（县区部门）'], ['45', '45 毫米（市、县区政府）']], String(tpl.seal.diameter))), function (e) { tpl.seal.diameter = +e.value; });
    }
    if (it.kind === 'qr') {
      onCommit(labelled('边长（毫米）', input('dz-p-size', tpl.qr.size, 'number')), function (e) { tpl.qr.size = +e.value; });
      var oq = input('dz-p-overlay-qr', '', 'checkbox'); oq.checked = !!(tpl.overlay && tpl.overlay.qr);
      onCommit(labelled('套打时也打印二维码', oq), function (e) { tpl.overlay = tpl.overlay || {}; tpl.overlay.qr = e.checked || undefined; });
    }
    if (it.kind === 'number') {
      var on = input('dz-p-overlay-number', '', 'checkbox'); on.checked = !!(tpl.overlay && tpl.overlay.licence_number);
      onCommit(labelled('套打时也打印证照编号', on), function (e) { tpl.overlay = tpl.overlay || {}; tpl.overlay.licence_number = e.checked || undefined; });
    }
    if (it.kind !== 'seal' && it.kind !== 'qr') {
      var b = it.obj;
      onCommit(labelled('字号（磅）', input('dz-p-font', b.font_size || 12, 'number')), function (e) { b.font_size = +e.value || undefined; });
      onCommit(labelled('对齐', select('dz-p-align', [['left', '左对齐'], ['center', '居中'], ['right', '右对齐'], ['justify', '两端对齐']], b.align || 'left')), function (e) { b.align = e.value === 'left' ? undefined : e.value; });
      var wrap = input('dz-p-wrap', '', 'checkbox'); wrap.checked = !!b.wrap;
      onCommit(labelled('多行（自动换行）', wrap), function (e) { b.wrap = e.checked || undefined; });
    }
    var r = rectOf(it), xy = el('div', { 'class': 'dz-xy' });
    [['x', 'x'], ['y', 'y'], ['w', '宽'], ['h', '高']].forEach(function (p) {
      var l = el('label', {}, p[1]); var i = input('dz-p-' + p[0], Math.round(r[p[0]] * 10) / 10, 'number');
      l.appendChild(i); xy.appendChild(l);
      i.addEventListener('change', function () {
        change(function () { var nr = rectOf(it); nr[p[0]] = +i.value; setRect(it, nr); });
      });
    });
    props.appendChild(el('p', { 'class': 'hint' }, '位置和大小（毫米，自页面左上角）'));
    props.appendChild(xy);
  }

  // bindField renames field idx to name; a name of the licence type's fields brings its type,
  // options, pattern, length and whether it is required.
  function bindField(idx, name) {
    var f = tpl.fields[idx];
    if (!name || name === f.name) { return; }
    var old = f.name;
    f.name = name;
    typeFields.forEach(function (tf) {
      if (tf.name !== name) { return; }
      ['type', 'options', 'pattern', 'max_length', 'required', 'label'].forEach(function (k) {
        if (tf[k] !== undefined) { f[k] = tf[k]; } else { delete f[k]; }
      });
    });
    if (systemFields.indexOf(name) >= 0) { f.required = undefined; }
    if (tpl.sample && tpl.sample.values && tpl.sample.values[old] !== undefined) {
      tpl.sample.values[name] = tpl.sample.values[old];
      delete tpl.sample.values[old];
    }
    selected = '字段“' + name + '”';
  }
  var dl = document.getElementById('dz-fieldnames');
  typeFields.map(function (f) { return f.name; }).concat(systemFields).forEach(function (n) {
    dl.appendChild(el('option', { value: n }, systemFields.indexOf(n) >= 0 ? '系统自动填写' : ''));
  });

  // ---- the page settings ----
  function onBar(id, fn) {
    document.getElementById(id).addEventListener('change', function (ev) { change(function () { fn(ev.target.value); }); });
  }
  onBar('dz-id', function (v) { tpl.id = v.trim(); });
  onBar('dz-name', function (v) { tpl.name = v.trim(); });
  onBar('dz-minfont', function (v) { if (+v > 0) { tpl.min_font_size = +v; } else { delete tpl.min_font_size; } });
  function setPage(w, h) {
    tpl.page = { width: w, height: h };
    if (w > h) { tpl.page.orientation = 'landscape'; }
    if (tpl.seal) { // keep the seal on the page
      var r = tpl.seal.diameter / 2;
      tpl.seal.x = Math.max(r, Math.min(tpl.seal.x, w - r - 5));
      tpl.seal.y = Math.max(r, Math.min(tpl.seal.y, h - r - 5));
    }
  }
  onBar('dz-w', function (v) { setPage(+v, pageSize().h); });
  onBar('dz-h', function (v) { setPage(pageSize().w, +v); });
  document.getElementById('dz-scan-file').addEventListener('change', function (ev) {
    var file = ev.target.files[0];
    if (!file) { return; }
    status('正在上传扫描图片……');
    fetch('/designer/scan', { method: 'POST', body: file, headers: { 'Content-Type': file.type, 'X-CSRF-Token': csrf }, credentials: 'same-origin' })
      .then(answer).then(function (sc) {
        change(function () { scan = sc.sha256; });
        status('扫描图片已上传（' + sc.width_px + '×' + sc.height_px + ' 像素）。请核对纸张的实际宽高（毫米）。');
      }).catch(function (e) { status(e.message, true); });
  });

  // ---- talking to the server ----
  function status(msg, bad) { statusEl.textContent = msg; statusEl.className = bad ? 'fieldmsg' : 'hint'; }
  function answer(resp) {
    var ct = resp.headers.get('Content-Type') || '';
    if (ct.indexOf('application/json') === 0) {
      return resp.json().then(function (j) {
        if (resp.ok) { return j; }
        if (resp.status === 422 && j.problems) { var e = new Error('模板有 ' + j.problems.length + ' 处问题，请按红框改正'); e.check = j; throw e; }
        throw new Error((j.error && j.error.message) || ('出错了（' + resp.status + '）'));
      });
    }
    if (!resp.ok) { throw new Error('出错了（' + resp.status + '），请刷新页面后重试'); }
    return resp.blob();
  }
  function post(url, body) {
    return fetch(url, { method: 'POST', body: JSON.stringify(body), credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf } }).then(answer);
  }
  // toSend is the template as stored. A template without its own sample gets the values of the
  // licence type's sample record for the fields it has, when they cover every required field, so
  // that the preview shows a real record (without one, each field shows its name).
  function toSend() {
    var t = JSON.parse(JSON.stringify(tpl));
    (t.fields || []).forEach(function (f) { if (!f.required) { delete f.required; } });
    if (!tpl.sample && typeSample.values) {
      var vals = {}, complete = true;
      (t.fields || []).forEach(function (f) {
        var v = typeSample.values[f.name];
        if (v !== undefined && v !== '') { vals[f.name] = v; } else if (f.required) { complete = false; }
      });
      if (complete && Object.keys(vals).length) {
        t.sample = { values: vals };
        if (t.licence_number && typeSample.licence_number) { t.sample.licence_number = typeSample.licence_number; }
      }
    }
    return t;
  }
  function showProblems(list) {
    problems = list || [];
    while (problemsEl.firstChild) { problemsEl.removeChild(problemsEl.firstChild); }
    if (!problems.length) { problemsEl.appendChild(el('li', { 'class': 'ok' }, '检查通过：没有重叠或超出页面的框。')); }
    problems.forEach(function (p) { problemsEl.appendChild(el('li', { 'data-box': p.box || '' }, p.message)); });
    draw();
  }
  var timer = null, seq = 0, lastURL = null;
  function schedulePreview() { clearTimeout(timer); timer = setTimeout(refreshPreview, 300); }
  function refreshPreview() {
    var my = ++seq;
    root.dataset.preview = 'pending';
    post('/designer/preview', { template: toSend(), scan: scan, boxes: true }).then(function (blob) {
      if (my !== seq) { return; }
      if (lastURL) { URL.revokeObjectURL(lastURL); }
      lastURL = URL.createObjectURL(blob);
      preview.src = lastURL;
      blob.text().then(function (t) { root.lastPreview = t; }); // for the browser tests
      showProblems([]);
      blob.text().then(function () { if (my === seq) { root.dataset.preview = 'ok'; } });
    }).catch(function (e) {
      if (my !== seq) { return; }
      showProblems(e.check ? e.check.problems : [{ message: e.message }]);
      root.dataset.preview = 'problems';
    });
  }
  document.getElementById('dz-save').addEventListener('click', function () {
    status('正在保存……');
    post('/designer/save', { template: toSend(), scan: scan }).then(function (rec) {
      status('已保存：模板 ' + rec.id + ' 第 ' + rec.version + ' 版。旧版本保留，已签发的证照仍用它们签发时的版本。');
      root.dataset.saved = rec.id + '@' + rec.version;
    }).catch(function (e) { if (e.check) { showProblems(e.check.problems); } status(e.message, true); });
  });
  document.getElementById('dz-publish').addEventListener('click', function () {
    if (!typeSel.value) { status('请先选择要发布到的证照类型', true); return; }
    status('正在发布……');
    post('/designer/publish', { type_code: typeSel.value, template_id: tpl.id }).then(function (res) {
      status('已发布：证照类型“' + res.type_name + '”今后用模板 ' + res.template_id + '（第 ' + res.version + ' 版）签发。');
      root.dataset.published = res.type_code + '=' + res.template_id;
    }).catch(function (e) { status(e.message, true); });
  });
  changed();
})();
