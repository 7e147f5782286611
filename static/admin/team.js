/* Team and sign-in: /admin/team (static/admin/team.html). Everyone: own password and 2FA;
 * owners also list, add, disable and change the role of admins. Text only, never markup: the
 * enrolment QR code comes as an SVG document and is shown as an <img> of a data: URL, so
 * nothing in it can run or touch this page. */
(function () {
  'use strict';
  var A = window.CardshopAdmin;
  var T = A.t; /* strings: static/assets/admin-i18n.js */
  var el = A.el;
  var pageError = A.$('page-error');
  var pageNotice = A.$('page-notice');
  var me = null;

  function notice(text) {
    A.clearError(pageError);
    A.showNotice(pageNotice, text);
  }

  function showOwnerParts(isOwner) {
    Array.prototype.forEach.call(document.querySelectorAll('[data-owner-only]'), function (n) {
      n.classList.toggle('hidden', !isOwner);
    });
  }

  /* ---- own password ---- */

  A.$('password-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var box = A.$('password-error');
    A.clearError(box);
    var cur = A.$('pw-current').value, nw = A.$('pw-new').value, again = A.$('pw-again').value;
    if (nw.length < 10) { A.showError(box, T('pw.short')); return; }
    if (nw !== again) { A.showError(box, T('pw.mismatch')); return; }
    A.busy(ev.target, A.api('POST', '/api/admin/password', { current: cur, 'new': nw }))
      .then(function () {
        ev.target.reset();
        notice(T('pw.done'));
      }, function (err) { A.showError(box, err); });
  });

  /* ---- 2FA ---- */

  function showTotp(on) {
    A.$('totp-status').textContent = T(on ? 'totp.is_on' : 'totp.is_off');
    A.$('totp-on').classList.toggle('hidden', !on);
    A.$('totp-off').classList.toggle('hidden', on);
    A.$('totp-enrol').classList.add('hidden');
  }

  function svgDataUrl(svg) {
    /* The server's SVG is ASCII (geometry only); btoa needs bytes below 256 anyway. */
    if (typeof svg !== 'string' || !/^<svg[\s>]/.test(svg) || /[^\x20-\x7e]/.test(svg)) return '';
    return 'data:image/svg+xml;base64,' + window.btoa(svg);
  }

  A.$('totp-setup').addEventListener('click', function (ev) {
    var btn = ev.target;
    btn.disabled = true;
    A.api('POST', '/api/admin/totp/setup').then(function (res) {
      btn.disabled = false;
      var img = A.$('totp-qr');
      img.src = svgDataUrl(res.qr_svg);
      img.alt = T('totp.qr_alt');
      A.$('totp-secret').textContent = res.secret;
      A.$('totp-off').classList.add('hidden');
      A.$('totp-enrol').classList.remove('hidden');
      A.$('totp-code').focus();
    }, function (err) { btn.disabled = false; A.showError(pageError, err); });
  });

  function codeOf(id, box) {
    var code = A.$(id).value.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code)) { A.showError(box, T('totp.bad_code')); return null; }
    return code;
  }

  A.$('totp-enrol').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var box = A.$('totp-enrol-error');
    A.clearError(box);
    var code = codeOf('totp-code', box);
    if (!code) return;
    A.busy(ev.target, A.api('POST', '/api/admin/totp/enable', { code: code })).then(function () {
      ev.target.reset();
      A.$('totp-qr').removeAttribute('src');
      A.$('totp-secret').textContent = '';
      showTotp(true);
      notice(T('totp.enabled'));
      if (me && me.role === 'owner') loadAdmins();
    }, function (err) { A.showError(box, err); });
  });

  A.$('totp-on').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var box = A.$('totp-off-error');
    A.clearError(box);
    var code = codeOf('totp-off-code', box);
    if (!code) return;
    A.busy(ev.target, A.api('POST', '/api/admin/totp/disable', { code: code })).then(function () {
      ev.target.reset();
      showTotp(false);
      notice(T('totp.disabled'));
      if (me && me.role === 'owner') loadAdmins();
    }, function (err) { A.showError(box, err); });
  });

  /* ---- the team (owners) ---- */

  function patchAdmin(a, change, btn) {
    btn.disabled = true;
    A.api('PATCH', '/api/admin/admins/' + a.id, change).then(function () {
      notice(T('team.saved', { name: a.username }));
      loadAdmins();
    }, function (err) { btn.disabled = false; A.showError(pageError, err); });
  }

  function adminRow(a) {
    var you = me && a.username === me.username;
    var roleBtn = el('button', { type: 'button', className: 'secondary small' },
      T(a.role === 'owner' ? 'team.make_staff' : 'team.make_owner'));
    roleBtn.addEventListener('click', function () {
      patchAdmin(a, { role: a.role === 'owner' ? 'staff' : 'owner' }, roleBtn);
    });
    var activeBtn = el('button', { type: 'button', className: 'secondary small' },
      T(a.active ? 'team.disable' : 'team.enable'));
    activeBtn.addEventListener('click', function () { patchAdmin(a, { active: !a.active }, activeBtn); });
    return el('tr', { dataset: { admin: a.username } },
      el('td', null, a.username + (you ? ' ' + T('team.you') : '')),
      el('td', null, T('role.' + (a.role === 'owner' ? 'owner' : 'staff'))),
      el('td', null, T(a.active ? 'team.active' : 'team.disabled')),
      el('td', null, T(a.totp ? 'team.yes' : 'team.no')),
      el('td', { className: 'actions' }, roleBtn, activeBtn));
  }

  function loadAdmins() {
    return A.api('GET', '/api/admin/admins').then(function (res) {
      var body = A.$('admins-body');
      A.clear(body);
      ((res && res.admins) || []).forEach(function (a) { body.appendChild(adminRow(a)); });
    }).catch(function (err) { A.showError(pageError, err); });
  }

  A.$('admin-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var box = A.$('admin-form-error');
    A.clearError(box);
    var body = { username: A.$('na-user').value.trim(), password: A.$('na-pw').value,
                 role: A.$('na-role').value };
    A.busy(ev.target, A.api('POST', '/api/admin/admins', body)).then(function () {
      ev.target.reset();
      notice(T('add.done', { name: body.username }));
      loadAdmins();
    }, function (err) { A.showError(box, err); });
  });

  A.requireSession().then(function (s) {
    me = s;
    showTotp(!!s.totp);
    showOwnerParts(s.role === 'owner');
    if (s.role === 'owner') loadAdmins();
  }).catch(function (err) { A.showError(pageError, err); });
})();
