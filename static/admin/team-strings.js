/* The strings of the team, settings and sign-in pages, in English and Simplified Chinese, in
 * one place. T(key, {n: 1}) picks the language the admin's i18n chose (window.I18n.lang),
 * else the browser's. T.apply(root) fills every [data-t] element's text. */
(function () {
  'use strict';
  var S = {
    en: {
      'nav.products': 'Products', 'nav.orders': 'Orders', 'nav.coupons': 'Coupons',
      'nav.mail': 'Mail', 'nav.audit': 'Audit log', 'nav.team': 'Team',
      'nav.settings': 'Settings', 'nav.logout': 'Sign out',
      'team.title': 'Team and sign-in',
      'pw.title': 'Change your password', 'pw.current': 'Current password',
      'pw.new': 'New password (at least 10 characters)', 'pw.again': 'New password again',
      'pw.hint': 'Your other sessions are signed out.', 'pw.submit': 'Change password',
      'pw.mismatch': 'The two new passwords differ.', 'pw.short': 'The new password needs at least 10 characters.',
      'pw.done': 'Password changed. Your other sessions were signed out.',
      'totp.title': 'Two-factor sign-in', 'totp.setup': 'Set up an authenticator app',
      'totp.scan': 'Scan this code with your authenticator app, then type the 6-digit code it shows.',
      'totp.manual': 'Or enter this key by hand:', 'totp.code': 'Code',
      'totp.enable': 'Turn on', 'totp.code_off': 'A current code, to turn it off',
      'totp.disable': 'Turn off', 'totp.is_on': 'On: signing in asks for a code from your app.',
      'totp.is_off': 'Off: signing in needs your password only.',
      'totp.qr_alt': 'QR code for your authenticator app',
      'totp.bad_code': 'Type the 6 digits your app shows.',
      'totp.enabled': 'Two-factor sign-in is on.', 'totp.disabled': 'Two-factor sign-in is off.',
      'team.admins': 'Admins',
      'team.roles': 'Owners may do everything. Staff run products, keys, orders and coupons, but not the settings, gateways, the team or key exports.',
      'team.user': 'User', 'team.role': 'Role', 'team.status': 'Status', 'team.2fa': '2FA',
      'team.active': 'Active', 'team.disabled': 'Disabled', 'team.you': '(you)',
      'team.disable': 'Disable', 'team.enable': 'Enable', 'team.make_owner': 'Make owner',
      'team.make_staff': 'Make staff', 'team.saved': 'Saved {name}.',
      'role.staff': 'Staff', 'role.owner': 'Owner', 'yes': 'On', 'no': 'Off',
      'add.title': 'Add an admin', 'add.user': 'Username',
      'add.password': 'Password (at least 10 characters)', 'add.role': 'Role',
      'add.submit': 'Add admin', 'add.done': 'Added {name}.',
      'login.code': 'Code from your authenticator app',
      'login.code_needed': 'Enter the 6-digit code from your authenticator app.',
      'settings.title': 'Settings',
      'settings.lead': 'Changes apply at once. A key set in the config file or the environment is fixed here.',
      'settings.save': 'Save', 'settings.saved': 'Saved.', 'settings.nothing': 'Nothing changed.',
      'settings.fixed_file': 'Set in the config file: change it there.',
      'settings.fixed_env': 'Set in the environment: change it there.',
      'settings.restart': 'Needs a restart: set it in the config file.',
      'settings.secret_set': 'Set (hidden).', 'settings.secret_unset': 'Not set.',
      'settings.change': 'New value (leave empty to keep)', 'settings.clear': 'Clear',
      'settings.restart_keys': 'Keys that need a restart',
      'settings.owner_only': 'Only an owner may see and change the settings.',
      'section.shop': 'Shop', 'section.smtp': 'Mail server (SMTP)',
      'section.payment.epay': 'EPay (易支付)', 'section.payment.sandbox': 'Sandbox gateway',
      'key.shop.name': 'Shop name', 'key.shop.notice': 'Notice on the shop\'s pages',
      'key.shop.order_ttl': 'Seconds an unpaid order holds its keys',
      'key.shop.pending_per_client': 'Unpaid orders one buyer may hold',
      'key.shop.default_max_qty': 'Most keys per order (products without a limit)',
      'key.shop.alert_email': 'Alert email (orders needing a hand)',
      'key.smtp.url': 'Server URL (smtp:// or smtps://)', 'key.smtp.from': 'From address',
      'key.smtp.username': 'Username', 'key.smtp.password': 'Password',
      'key.smtp.timeout': 'Timeout (seconds)', 'key.smtp.tls': 'TLS (starttls, tls or none)',
      'key.smtp.tls_verify': 'Check the server\'s certificate', 'key.smtp.ca_file': 'CA file',
      'key.payment.epay.enabled': 'On', 'key.payment.epay.api_url': 'Platform URL',
      'key.payment.epay.pid': 'Merchant ID (pid)', 'key.payment.epay.key': 'Merchant key',
      'key.payment.sandbox.enabled': 'On (anyone can "pay": never in production)'
    },
    'zh-CN': {
      'nav.products': '商品', 'nav.orders': '订单', 'nav.coupons': '优惠券',
      'nav.mail': '邮件', 'nav.audit': '审计日志', 'nav.team': '团队',
      'nav.settings': '设置', 'nav.logout': '退出登录',
      'team.title': '团队与登录',
      'pw.title': '修改密码', 'pw.current': '当前密码',
      'pw.new': '新密码（至少 10 个字符）', 'pw.again': '再次输入新密码',
      'pw.hint': '你的其他会话将被登出。', 'pw.submit': '修改密码',
      'pw.mismatch': '两次输入的新密码不一致。', 'pw.short': '新密码至少需要 10 个字符。',
      'pw.done': '密码已修改，其他会话已登出。',
      'totp.title': '两步验证登录', 'totp.setup': '设置身份验证器应用',
      'totp.scan': '用身份验证器应用扫描此二维码，然后输入它显示的 6 位验证码。',
      'totp.manual': '或手动输入此密钥：', 'totp.code': '验证码',
      'totp.enable': '开启', 'totp.code_off': '输入当前验证码以关闭',
      'totp.disable': '关闭', 'totp.is_on': '已开启：登录时需要应用中的验证码。',
      'totp.is_off': '未开启：登录只需要密码。',
      'totp.qr_alt': '身份验证器应用的二维码',
      'totp.bad_code': '请输入应用显示的 6 位数字。',
      'totp.enabled': '两步验证已开启。', 'totp.disabled': '两步验证已关闭。',
      'team.admins': '管理员',
      'team.roles': '所有者可以做任何事。员工可以管理商品、卡密、订单和优惠券，但不能修改设置、支付网关、团队或导出卡密。',
      'team.user': '用户', 'team.role': '角色', 'team.status': '状态', 'team.2fa': '两步验证',
      'team.active': '启用', 'team.disabled': '已停用', 'team.you': '（你）',
      'team.disable': '停用', 'team.enable': '启用', 'team.make_owner': '设为所有者',
      'team.make_staff': '设为员工', 'team.saved': '已保存 {name}。',
      'role.staff': '员工', 'role.owner': '所有者', 'yes': '开', 'no': '关',
      'add.title': '添加管理员', 'add.user': '用户名',
      'add.password': '密码（至少 10 个字符）', 'add.role': '角色',
      'add.submit': '添加管理员', 'add.done': '已添加 {name}。',
      'login.code': '身份验证器应用中的验证码',
      'login.code_needed': '请输入身份验证器应用中的 6 位验证码。',
      'settings.title': '设置',
      'settings.lead': '修改立即生效。在配置文件或环境变量中设置的项在此为只读。',
      'settings.save': '保存', 'settings.saved': '已保存。', 'settings.nothing': '没有修改。',
      'settings.fixed_file': '已在配置文件中设置：请在那里修改。',
      'settings.fixed_env': '已在环境变量中设置：请在那里修改。',
      'settings.restart': '需要重启：请在配置文件中设置。',
      'settings.secret_set': '已设置（隐藏）。', 'settings.secret_unset': '未设置。',
      'settings.change': '新值（留空则不变）', 'settings.clear': '清除',
      'settings.restart_keys': '需要重启才能生效的项',
      'settings.owner_only': '只有所有者可以查看和修改设置。',
      'section.shop': '店铺', 'section.smtp': '邮件服务器（SMTP）',
      'section.payment.epay': '易支付', 'section.payment.sandbox': '沙盒支付',
      'key.shop.name': '店铺名称', 'key.shop.notice': '店铺页面公告',
      'key.shop.order_ttl': '未付款订单保留卡密的秒数',
      'key.shop.pending_per_client': '每位买家最多未付款订单数',
      'key.shop.default_max_qty': '每单最多卡密数（未设上限的商品）',
      'key.shop.alert_email': '提醒邮箱（需要人工处理的订单）',
      'key.smtp.url': '服务器地址（smtp:// 或 smtps://）', 'key.smtp.from': '发件人地址',
      'key.smtp.username': '用户名', 'key.smtp.password': '密码',
      'key.smtp.timeout': '超时（秒）', 'key.smtp.tls': 'TLS（starttls、tls 或 none）',
      'key.smtp.tls_verify': '校验服务器证书', 'key.smtp.ca_file': 'CA 文件',
      'key.payment.epay.enabled': '开启', 'key.payment.epay.api_url': '平台地址',
      'key.payment.epay.pid': '商户号（pid）', 'key.payment.epay.key': '商户密钥',
      'key.payment.sandbox.enabled': '开启（任何人都能"付款"：切勿用于生产环境）'
    }
  };

  function lang() {
    var l = window.I18n && window.I18n.lang;
    if (!l) {
      try { l = window.localStorage.getItem('cardshop.lang'); } catch (e) { l = null; }
    }
    if (!l) l = /^zh/i.test(navigator.language || '') ? 'zh-CN' : 'en';
    return S[l] ? l : 'en';
  }

  function T(key, params) {
    var s = S[lang()][key];
    if (s === undefined) s = S.en[key];
    if (s === undefined) return key;
    return s.replace(/\{(\w+)\}/g, function (m, k) {
      return params && params[k] !== undefined ? String(params[k]) : m;
    });
  }

  T.has = function (key) { return S.en[key] !== undefined; };
  T.apply = function (root) {
    Array.prototype.forEach.call((root || document).querySelectorAll('[data-t]'), function (n) {
      n.textContent = T(n.getAttribute('data-t'));
    });
    document.documentElement.lang = lang();
  };
  window.TeamStrings = T;
})();
