// The test page's script (internal/fixtures/ofdjs.go): ofd.js renders the OFD served at
// /doc.ofd into #page, checks every signature the way its viewer does (the SES_Signature's
// SM2 value, VerifyRet, and the SM3 digests of the References, digestCheck), and leaves the
// outcome in window.ofdResult (or window.ofdError) as JSON.
import { parseOfdDocument, renderOfd, digestCheck } from 'ofd.js';

// ofd.js reports what it cannot read only on the console: keep the messages for the test.
const logs = [];
for (const level of ['log', 'warn', 'error']) {
  const orig = console[level];
  console[level] = (...args) => {
    logs.push(args.map((a) => {
      if (a && a.stack) return a.stack;
      if (a && typeof a === 'object') {
        try { return JSON.stringify(a, (k, v) => (v && v.length > 64 && typeof v !== 'string' ? '[' + v.length + ']' : v)); } catch (e) { return '[object]'; }
      }
      return String(a);
    }).join(' ').slice(0, 800));
    orig.apply(console, args);
  };
}

window.renderOFD = async function (widthPx) {
  try {
    const resp = await fetch('/doc.ofd');
    const buf = await resp.arrayBuffer();
    parseOfdDocument({
      ofd: buf,
      success(res) {
        try {
          const doc = Array.isArray(res) ? res[0] : res;
          const pages = renderOfd(widthPx, doc);
          const root = document.getElementById('page');
          for (const p of pages) root.appendChild(p);
          const signatures = [];
          // The seal is an <svg name="seal_img_div">: getElementsByName sees HTML elements only.
          for (const el of root.querySelectorAll('[name="seal_img_div"]')) {
            const info = JSON.parse(el.dataset.signedInfo);
            const checks = window.toBeChecked ? window.toBeChecked.get(info.signatureID) : null;
            signatures.push({
              signatureID: info.signatureID,
              verifyRet: info.VerifyRet,
              provider: info.Provider,
              method: info.SignatureMethod,
              dateTime: info.SignatureDateTime,
              references: checks ? checks.length : 0,
              digestOK: checks ? digestCheck(checks) : null,
              box: (() => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })(),
            });
          }
          const texts = Array.from(root.querySelectorAll('text')).map((t) => t.textContent);
          const rect = root.firstChild ? root.firstChild.getBoundingClientRect() : null;
          // Let the browser lay out and paint the SVGs before the screenshot.
          requestAnimationFrame(() => requestAnimationFrame(() => {
            window.ofdResult = JSON.stringify({
              pages: pages.length,
              width: rect ? rect.width : 0,
              height: rect ? rect.height : 0,
              signatures,
              texts,
              logs: logs.slice(0, 50),
            });
          }));
        } catch (e) {
          window.ofdError = String(e && e.stack ? e.stack : e);
        }
      },
      fail(err) {
        window.ofdError = String(err && err.stack ? err.stack : err);
      },
    });
  } catch (e) {
    window.ofdError = String(e && e.stack ? e.stack : e);
  }
};
