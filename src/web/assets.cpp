// The one script and the one style sheet of Web Config, served as files
// (/assets/...) because the Content-Security-Policy allows no inline code.
// The pages work without the script; it only shows and hides fields as the
// Authentication Method changes, fills a service's preset, counts down the
// code's time and polls the sign-in status so "Signed in" appears by itself.
#include "web/app.hpp"

namespace pb::web {

std::string_view app_js() noexcept {
    return R"JS('use strict';
(function () {
  var form = document.getElementById('settings-form');
  if (form) {
    var method = form.querySelector('[name="auth_method"]');
    var service = form.querySelector('[name="service"]');
    var presets = JSON.parse(form.dataset.presets || '{}');
    var sync = function () {
      var m = method ? method.value : '';
      var s = service ? service.value : '';
      document.querySelectorAll('[data-show]').forEach(function (row) {
        var ok = row.dataset.show.split(' ').indexOf(m) >= 0;
        if (ok && row.dataset.services) ok = row.dataset.services.split(' ').indexOf(s) >= 0;
        if (row.id === 'signed-account-row') ok = ok && !!document.getElementById('signin-account').textContent;
        row.hidden = !ok;
      });
    };
    // Changing what the sign-in belongs to signs it out on OK: say so now.
    var warning = document.getElementById('switch-warning');
    var identity = ['service', 'oauth.grant', 'oauth.tenant', 'oauth.authority', 'oauth.issuer',
                    'oauth.client_id'].map(function (k) { return form.querySelector('[name="' + k + '"]'); })
      .filter(function (e) { return !!e; });
    var saved = identity.map(function (e) { return e.value; });
    var warn = function () {
      if (warning) warning.hidden = identity.every(function (e, i) { return e.value === saved[i]; });
    };
    identity.forEach(function (e) { e.addEventListener('change', warn); e.addEventListener('input', warn); });
    if (method) method.addEventListener('change', sync);
    // A preset fills its fields; a field the chosen service has no value
    // for goes back to its saved value, so that trying one service and then
    // another leaves nothing of the first behind.
    var presetKeys = {};
    Object.keys(presets).forEach(function (s) {
      Object.keys(presets[s]).forEach(function (k) { presetKeys[k] = true; });
    });
    var savedPreset = {};
    Object.keys(presetKeys).forEach(function (k) {
      var input = form.querySelector('[name="' + k + '"]');
      if (input) savedPreset[k] = input.value;
    });
    if (service) service.addEventListener('change', function () {
      var p = presets[service.value] || {};
      Object.keys(savedPreset).forEach(function (k) {
        var input = form.querySelector('[name="' + k + '"]');
        input.value = Object.prototype.hasOwnProperty.call(p, k) ? p[k] : savedPreset[k];
      });
      sync();
    });
    sync();
  }

  var left = document.getElementById('time-left');
  var deadline = left ? Date.now() + 1000 * Number(left.dataset.expiresIn) : 0;
  var tick = function () {
    if (!left) return;
    var s = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    left.textContent = Math.floor(s / 60) + ' min ' + String(s % 60).padStart(2, '0') + ' s';
  };

  var panel = document.getElementById('signin-panel');
  if (panel && panel.dataset.poll) {
    var timer = setInterval(tick, 1000);
    var poll = function () {
      fetch('/api/signin-status?profile=' + encodeURIComponent(panel.dataset.profile),
            { credentials: 'same-origin', cache: 'no-store' })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) return;
          document.querySelectorAll('.js-status').forEach(function (e) { e.textContent = s.status; });
          if (s.state === 'pending') { setTimeout(poll, 2000); return; }
          clearInterval(timer);
          panel.querySelectorAll('.pending-only').forEach(function (e) { e.hidden = true; });
          var account = document.getElementById('signin-account');
          if (account) account.textContent = s.account || '';
          var row = document.getElementById('signed-account-row');
          if (row) row.hidden = !s.account;
          if (s.state === 'signed-in') {
            var done = document.createElement('p');
            done.className = 'done';
            done.textContent = panel.dataset.done ||
              ('Signed in as ' + s.account + '. Click OK to apply the settings.');
            panel.appendChild(done);
          }
          var reason = document.getElementById('signin-reason');
          if (reason && s.reason) { reason.textContent = s.reason; reason.hidden = false; }
        })
        .catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 1000);
  }

  var print = document.getElementById('print');
  if (print) {
    print.hidden = false;
    print.addEventListener('click', function () { window.print(); });
  }

  // Job Status: a job still under way shows its end without a reload.
  var watch = document.querySelector('[data-refresh]');
  if (watch) setTimeout(function () { location.reload(); }, Number(watch.dataset.refresh) * 1000);
})();
)JS";
}

std::string_view style_css() noexcept {
    return R"CSS(body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #f5f6f8; }
header { display: flex; justify-content: space-between; align-items: center; padding: .6em 1.2em; background: #1f3a5f; color: #fff; }
header .product { font-weight: 600; letter-spacing: .02em; }
header a, header button { color: #fff; background: none; border: 1px solid #fff8; border-radius: 4px; padding: .25em .8em; font: inherit; cursor: pointer; text-decoration: none; }
header form { margin: 0; }
.tabs { list-style: none; display: flex; gap: .2em; margin: 0; padding: 0 1.2em; background: #dfe4ec; }
.tabs a { display: block; padding: .55em 1em; color: #1f3a5f; text-decoration: none; }
.tabs a[aria-current] { background: #f5f6f8; font-weight: 600; }
main { max-width: 58em; padding: 1em 1.6em 3em; }
h1 { font-size: 1.25em; }
.field { display: grid; grid-template-columns: 16em 1fr; gap: .4em 1em; padding: .45em 0; border-bottom: 1px solid #e3e6eb; align-items: start; }
.field[hidden] { display: none; }
.field > label, .field > .label { font-weight: 500; padding-top: .2em; }
input[type=text], input[type=password], input[type=url], select { font: inherit; padding: .25em .4em; min-width: 18em; }
button { font: inherit; padding: .35em 1.2em; cursor: pointer; }
.buttons { padding-top: 1em; }
.note { background: #eef3fa; border-left: 4px solid #1f3a5f; padding: .5em .8em; }
.warning { color: #7a4a00; font-size: .92em; margin: .3em 0 0; }
.error { color: #b00020; margin: .3em 0 0; }
.notice { color: #1d5b2a; }
.panel { background: #fff; border: 1px solid #cfd6e0; border-radius: 6px; padding: .4em 1.2em 1em; margin: 1em 0; }
.panel .notice { color: #7a4a00; }
#user-code { font-family: ui-monospace, monospace; font-size: 1.3em; letter-spacing: .08em; }
.qr { display: block; margin: .6em 0; }
.done { color: #1d5b2a; font-weight: 600; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: .3em .8em; border-bottom: 1px solid #e3e6eb; }
.subnav { display: flex; flex-wrap: wrap; gap: 1.2em; margin: .8em 0 0; padding: 0; list-style: none; }
.subnav a { color: #1f3a5f; }
.subnav a[aria-current] { font-weight: 600; text-decoration: none; }
.ok { color: #1d5b2a; font-weight: 600; }
.failed { color: #b00020; font-weight: 600; }
pre.transcript { background: #fff; border: 1px solid #cfd6e0; padding: .6em; overflow-x: auto; font-size: .85em; }
table.sheet { width: 100%; background: #fff; }
table.sheet th { width: 40%; font-weight: 500; }
form.inline { display: inline; margin: 0; }
@media print {
  header, nav, .subnav, .no-print, .buttons { display: none !important; }
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  .sheet-section { break-inside: avoid; }
}
)CSS";
}

}  // namespace pb::web
