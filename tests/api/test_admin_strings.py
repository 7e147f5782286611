"""Every string key the admin pages use exists in both languages: the dictionaries of
static/assets/i18n.js and admin-i18n.js are evaluated by node (as a browser would run them), and
every key named in the admin's scripts (t('…'), T('…'), A.t('…')) and pages (data-i18n…,
data-title) is looked up in English and in Chinese. A key built at run time from a prefix
('orders.action.' + name) must have the same keys under that prefix in both languages. No
server needed."""

import json
import re
import shutil
import subprocess

import pytest

import harness

STATIC = harness.REPO_ROOT / "static"

# i18n.js keeps its table private and t() falls back to English, so the dump reads the table
# itself (one line added to the evaluated copy, never to the file), after admin-i18n.js has
# extended it.
DUMP = r"""
const fs = require('fs'), vm = require('vm');
const win = {localStorage: {getItem: () => null, setItem: () => {}},
             navigator: {language: 'en', languages: ['en']}};
win.window = win;
vm.createContext(win);
const [base, admin] = process.argv.slice(1).map(f => fs.readFileSync(f, 'utf8'));
const hook = 'window.I18n = api; window.__dict = DICT;';
if (!base.includes('window.I18n = api;')) throw new Error('i18n.js changed: update the dump');
vm.runInContext(base.replace('window.I18n = api;', hook), win);
vm.runInContext(admin, win);
process.stdout.write(JSON.stringify(win.__dict));
"""

# A key is "<page>.<what>": a page's own t('up') (a wrapper adding its prefix) is not one.
CALL = re.compile(r"""(?<![\w.])(?:A\.t|T|t|I18n\.t)\(\s*'([a-z][\w\-]*\.[\w.\-]*)'(\s*\+)?""")
LITERAL = re.compile(r"'([a-z][\w\-]*\.[\w.\-]+)'")
ATTR = re.compile(r"""data-(?:i18n(?:-placeholder|-title|-aria-label)?|title)="([a-z][\w\-]*\.[\w.\-]*)\"""")


def dictionaries():
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed (scripts/deps.sh test installs nodejs)")
    files = [str(STATIC / "assets" / "i18n.js"), str(STATIC / "assets" / "admin-i18n.js")]
    out = subprocess.run([node, "-e", DUMP, *files], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def used_keys():
    """(key, is_prefix, where) for every key the admin's scripts and pages name."""
    sources = sorted((STATIC / "admin").glob("*.js")) + sorted((STATIC / "admin").glob("*.html"))
    sources.append(STATIC / "assets" / "admin.js")
    found = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for m in CALL.finditer(text):
            found.append((m.group(1), bool(m.group(2)), path.name))
        for m in ATTR.finditer(text):
            found.append((m.group(1), False, path.name))
    return found


def test_every_admin_key_exists_in_both_languages():
    d = dictionaries()
    en, zh = d["en"], d["zh-CN"]
    used = used_keys()
    assert len(used) > 300, len(used)  # the scan sees the pages (orders.js alone names ~150)
    missing = []
    for key, prefix, where in used:
        if prefix:
            en_keys = {k for k in en if k.startswith(key)}
            zh_keys = {k for k in zh if k.startswith(key)}
            if not en_keys or en_keys != zh_keys:
                missing.append((where, key + "…", sorted(en_keys ^ zh_keys) or "none"))
        else:
            for lang, table in (("en", en), ("zh-CN", zh)):
                if key not in table:
                    missing.append((where, key, lang))
    # a key written anywhere else (a ternary, a table of names): known in one language, so in both
    for path in sorted((STATIC / "admin").glob("*.js")) + [STATIC / "assets" / "admin.js"]:
        for m in LITERAL.finditer(path.read_text(encoding="utf-8")):
            k = m.group(1)
            if (k in en) != (k in zh):
                missing.append((path.name, k, "en" if k not in en else "zh-CN"))
    assert not missing, missing


def test_the_admin_dictionaries_have_the_same_keys():
    d = dictionaries()
    admin = {m.group(1) for m in re.finditer(r"^\s*'([^'\n]+)':",
                                             (STATIC / "assets" / "admin-i18n.js").read_text("utf-8"), re.M)}
    en = admin & set(d["en"])
    zh = admin & set(d["zh-CN"])
    assert en == zh, sorted(en ^ zh)
    # orders.js keeps no table of its own any more: its strings are the dictionary's
    orders = (STATIC / "admin" / "orders.js").read_text("utf-8")
    assert "'zh-CN': {" not in orders and "data-t=" not in (STATIC / "admin" / "orders.html").read_text("utf-8")
    assert d["zh-CN"]["orders.filter.product"] == "商品" and d["en"]["orders.csv_link"] == "Export CSV"
