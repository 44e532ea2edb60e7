/* Strategy editor: ace setup (Lua mode, completions), Ctrl/Cmd+S, jump-to-line and the
 * unsaved-changes guard. Loaded on every page; it only acts where the editor exists.
 *
 * The page (pages/strategy_editor.py) calls window.dash_clientside.strategy_editor.setup from
 * a clientside callback with the editor's id and the completion catalog built from
 * engine/contract.py (components/strategy_completions.py: completion_catalog). */
(function () {
  "use strict";

  var state = { editorId: null, saved: null, readOnly: false };

  function aceFor(id) {
    var el = id && document.getElementById(id);
    return el && el.env && el.env.editor ? el.env.editor : null;
  }

  function currentEditor() {
    return aceFor(state.editorId);
  }

  function isDirty() {
    var editor = currentEditor();
    return !!(editor && !state.readOnly && state.saved !== null && editor.getValue() !== state.saved);
  }

  // -- completions ---------------------------------------------------------------------------
  function headerList(code, tag) {
    var re = new RegExp("^\\s*--\\s*@" + tag + "\\s+(.*)$", "gm");
    var out = [];
    var m;
    while ((m = re.exec(code)) !== null) {
      if (tag === "param") {
        var name = m[1].trim().split(/\s+/)[0];
        if (/^[A-Za-z_]\w*$/.test(name)) out.push({ name: name, doc: m[0].trim() });
      } else {
        m[1].split(/[,\s]+/).forEach(function (item) {
          if (/^[A-Za-z_]\w*$/.test(item)) out.push({ name: item, doc: "declared in @" + tag });
        });
      }
    }
    return out;
  }

  function entry(item, meta, score) {
    var e = {
      caption: item.caption || item.name,
      value: item.value || item.name,
      meta: item.meta || meta,
      score: score,
      docText: item.doc || ""
    };
    if (item.snippet) {
      e.snippet = item.snippet;
      delete e.value;
    }
    return e;
  }

  function localWords(session, prefix) {
    var seen = {};
    var out = [];
    var text = session.getValue();
    var re = /[A-Za-z_][A-Za-z0-9_]*/g;
    var m;
    while ((m = re.exec(text)) !== null) {
      var w = m[0];
      if (w.length > 2 && w !== prefix && !seen[w]) {
        seen[w] = true;
        out.push({ caption: w, value: w, meta: "local", score: 1 });
      }
    }
    return out;
  }

  function makeCompleter(catalog) {
    return {
      identifierRegexps: [/[A-Za-z0-9_]/],
      getCompletions: function (editor, session, pos, prefix, callback) {
        var line = session.getLine(pos.row).slice(0, pos.column - prefix.length);
        var code = session.getValue();
        if (/action\s*=\s*["']$/.test(line)) {
          callback(null, catalog.actions.map(function (a) { return entry(a, "action", 100); }));
          return;
        }
        var member = line.match(/([A-Za-z_][A-Za-z0-9_]*)\s*[.:]\s*$/);
        if (member) {
          var table = member[1];
          var items = [];
          if (table === "params") {
            items = headerList(code, "param").map(function (p) { return entry(p, "param", 100); });
          } else if (table === "context") {
            items = headerList(code, "context").map(function (c) { return entry(c, "context", 100); });
          } else if (catalog.members[table]) {
            items = catalog.members[table].map(function (f) { return entry(f, table, 100); });
          }
          callback(null, items);
          return;
        }
        var out = [];
        catalog.globals.forEach(function (g) { out.push(entry(g, "api", 90)); });
        catalog.snippets.forEach(function (s) { out.push(entry(s, "snippet", 80)); });
        catalog.keywords.forEach(function (k) { out.push(entry({ name: k }, "keyword", 70)); });
        catalog.fields.forEach(function (f) { out.push(entry(f, "field", 60)); });
        callback(null, out.concat(localWords(session, prefix)));
      }
    };
  }

  function afterExec(e) {
    if (e.command.name !== "insertstring") return;
    var editor = e.editor;
    var pos = editor.getCursorPosition();
    var before = editor.session.getLine(pos.row).slice(0, pos.column);
    if (/[A-Za-z_]\w*\s*[.:]$/.test(before) || /action\s*=\s*["']$/.test(before)) {
      editor.execCommand("startAutocomplete");
    }
  }

  // -- setup -----------------------------------------------------------------------------------
  function configure(editor, catalog, readOnly) {
    editor.session.setMode("ace/mode/lua");
    editor.setTheme("ace/theme/tomorrow_night");
    editor.setOptions({
      useWorker: false,
      enableBasicAutocompletion: true,
      enableLiveAutocompletion: true,
      enableSnippets: false,  // true would fetch snippet files; completion snippets still work
      showPrintMargin: false,
      highlightActiveLine: true,
      highlightSelectedWord: true,
      behavioursEnabled: true,
      displayIndentGuides: true,
      fadeFoldWidgets: false,
      showFoldWidgets: true,
      scrollPastEnd: 0.25,
      tabSize: 2,
      useSoftTabs: true,
      fontFamily: "'JetBrains Mono', 'Fira Code', Menlo, Consolas, 'DejaVu Sans Mono', monospace"
    });
    editor.setReadOnly(!!readOnly);
    editor.completers = [makeCompleter(catalog)];
    if (!editor.__tradesimHooked) {
      editor.commands.on("afterExec", afterExec);
      editor.__tradesimHooked = true;
    }
    editor.container.setAttribute("data-mode", "lua");
  }

  function setup(editorId, catalog, info) {
    state.editorId = editorId;
    state.readOnly = !!(info && info.read_only);
    var tries = 0;
    (function attempt() {
      var editor = aceFor(editorId);
      if (editor && window.ace.require("ace/mode/lua")) {
        configure(editor, catalog, state.readOnly);
        return;
      }
      if (++tries < 100) setTimeout(attempt, 50);
    })();
    return "ready";
  }

  function trackSaved(value, saved, info) {
    state.saved = saved;
    state.readOnly = !!(info && info.read_only);
    var dirty = !state.readOnly && typeof value === "string" && value !== saved;
    return [dirty ? "● Unsaved changes" : "", dirty ? "unsaved-indicator is-dirty" : "unsaved-indicator"];
  }

  // Resolve with the latest value 250 ms after the last change; superseded calls resolve
  // with no_update, so the server validates once per pause in typing.
  var debounceToken = 0;
  function debounce(value) {
    var token = ++debounceToken;
    return new Promise(function (resolve) {
      setTimeout(function () {
        resolve(token === debounceToken ? value : window.dash_clientside.no_update);
      }, 250);
    });
  }

  // Apply a header rewrite from the metadata form as one ace edit of the changed span, so
  // the cursor, scroll position and undo history survive. Skipped if the code changed since.
  function applyCode(pending) {
    var editor = currentEditor();
    if (!editor || !pending || editor.getValue() !== pending.base) {
      return window.dash_clientside.no_update;
    }
    var a = pending.base;
    var b = pending.code;
    var head = 0;
    while (head < a.length && head < b.length && a[head] === b[head]) head++;
    var tail = 0;
    while (tail < a.length - head && tail < b.length - head &&
           a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
    var doc = editor.session.getDocument();
    var start = doc.indexToPosition(head, 0);
    var end = doc.indexToPosition(a.length - tail, 0);
    var Range = window.ace.require("ace/range").Range;
    editor.session.replace(new Range(start.row, start.column, end.row, end.column),
                           b.slice(head, b.length - tail));
    return "applied";
  }

  function snapshot(n) {
    var editor = currentEditor();
    var value = editor ? editor.getValue() : arguments[1];
    return { code: value, n: n, at: Date.now() };
  }

  // -- global listeners (installed once) -------------------------------------------------------
  function jumpTo(line, column) {
    var editor = currentEditor();
    if (!editor) return;
    editor.scrollToLine(line - 1, true, true, function () {});
    editor.gotoLine(line, Math.max(0, column - 1), true);
    editor.focus();
  }

  document.addEventListener("click", function (e) {
    var item = e.target.closest && e.target.closest("[data-jump-line]");
    if (item) {
      jumpTo(parseInt(item.getAttribute("data-jump-line"), 10) || 1,
             parseInt(item.getAttribute("data-jump-column"), 10) || 1);
      return;
    }
    var link = e.target.closest && e.target.closest("a[href]");
    if (!link || link.target === "_blank" || e.defaultPrevented || !isDirty()) return;
    var url = new URL(link.href, window.location.href);
    if (url.origin === window.location.origin && url.pathname === window.location.pathname &&
        url.search === window.location.search) return;
    if (!window.confirm("You have unsaved changes. Leave this page and lose them?")) {
      e.preventDefault();
      e.stopImmediatePropagation();
    } else {
      state.saved = null;  // confirmed: do not ask again on unload
    }
  }, true);

  document.addEventListener("keydown", function (e) {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || (e.key || "").toLowerCase() !== "s") return;
    var button = document.getElementById("strategy-editor-save");
    if (!button) return;
    e.preventDefault();
    if (!button.disabled) button.click();
  }, true);

  window.addEventListener("beforeunload", function (e) {
    if (!isDirty()) return undefined;
    e.preventDefault();
    e.returnValue = "";
    return "";
  });

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    strategy_editor: {
      setup: setup, trackSaved: trackSaved, snapshot: snapshot, debounce: debounce, applyCode: applyCode
    }
  });
})();
