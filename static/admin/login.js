/* Sign-in form: /admin/ (static/admin/index.html). Already signed in: straight on. */
(function () {
  'use strict';
  var A = window.CardshopAdmin;
  var form = A.$('login-form');
  var errorBox = A.$('login-error');

  /* Only a page of this admin may be the destination (no open redirect). */
  function destination() {
    var next = A.query('next');
    if (next) {
      try {
        var url = new URL(next, location.origin);
        if (url.origin === location.origin && url.pathname.indexOf('/admin/') === 0 &&
            url.pathname !== '/admin/' && url.pathname !== '/admin/index.html') {
          return url.pathname + url.search + url.hash;
        }
      } catch (e) { /* ignored: the default below */ }
    }
    return A.home;
  }

  var totpRow = A.$('totp-row');

  /* The server asked for the second factor: show its field and wait for the code. */
  function askCode(message) {
    totpRow.classList.remove('hidden');
    A.showError(errorBox, message);
    A.$('totp').value = '';
    A.$('totp').focus();
  }

  A.session({ noRedirect: true }).then(function () {
    location.replace(destination());
  }, function () { /* not signed in: stay on the form */ });

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    A.clearError(errorBox);
    var username = A.$('username').value.trim();
    var password = A.$('password').value;
    if (!username || !password) {
      A.showError(errorBox, A.t('login.missing'));
      (username ? A.$('password') : A.$('username')).focus();
      return;
    }
    var body = { username: username, password: password };
    var code = A.$('totp').value.replace(/\s+/g, '');
    if (!totpRow.classList.contains('hidden')) {
      if (!/^\d{6}$/.test(code)) { askCode(A.t('login.code_needed')); return; }
      body.totp = code;
    }
    A.busy(form, A.api('POST', '/api/admin/login', body, { noRedirect: true, noToken: true }))
      .then(function (res) {
        A.saveToken(res && res.csrf_token);
        location.assign(destination());
      }, function (err) {
        if (err && err.code === 'totp_required') {
          askCode(A.t('login.code_needed'));
          return;
        }
        A.showError(errorBox, err);
        if (!totpRow.classList.contains('hidden')) {
          A.$('totp').value = '';
          A.$('totp').focus();
          return;
        }
        A.$('password').value = '';
        A.$('password').focus();
      });
  });
})();
