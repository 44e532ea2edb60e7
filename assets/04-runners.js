/* Runner Manager grid cells (dash-ag-grid custom components): status badge, runner link and
 * the per-row action buttons. A button click writes {action, runner_id, nonce} into the store
 * named by the column's cellRendererParams.actionStore (dash_clientside.set_props; the grid's
 * own cellRendererData prop would leak into AG Grid's gridOptions and log a warning); the
 * button shows a spinner until the row's status or its "ack" (the nonce the server echoes
 * once the command is done, failed or cancelled) changes. Runner ids sort naturally. */
(function () {
  "use strict";
  var dag = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});
  var funcs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

  /* Natural order: r1, r2, r10 (digit runs compare as numbers, the rest case-insensitively). */
  var COLLATOR = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  funcs.naturalCompare = function (a, b) {
    return COLLATOR.compare(String(a == null ? "" : a), String(b == null ? "" : b));
  };
  var el = function () { return React.createElement.apply(React, arguments); };

  var STATUS = {
    running: ["Running", "bg-success"],
    paused: ["Paused", "bg-warning"],
    stopped: ["Stopped", "bg-danger"],
    error: ["Error", "status-error"],
  };
  var BUTTON = {
    pause: ["Pause", "btn-outline-warning", "Pause: keep the position, skip bars"],
    resume: ["Resume", "btn-outline-success", "Resume processing bars"],
    start: ["Start", "btn-outline-success", "Start (an errored runner reloads its strategy)"],
    stop: ["Stop", "btn-outline-danger", "Stop the runner"],
    delete: ["Delete", "btn-outline-light", "Delete the runner (asks first)"],
  };

  function detailHref(runnerId) {
    return "/runners/" + encodeURIComponent(runnerId);
  }

  /* Same-tab navigation without a page reload (what dcc.Link does). */
  function navigate(event) {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    window.history.pushState({}, "", event.currentTarget.getAttribute("href"));
    window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
    window.scrollTo(0, 0);
  }

  dag.RunnerStatus = function (props) {
    var info = STATUS[props.value] || [String(props.value || "?"), "bg-secondary"];
    return el("span", { className: "badge runner-status " + info[1] }, info[0]);
  };

  dag.RunnerLink = function (props) {
    var id = props.value;
    return el("a", { href: detailHref(id), className: "runner-link", onClick: navigate }, id);
  };

  dag.RunnerActions = function (props) {
    var data = props.data || {};
    var state = React.useState(null);
    var pending = state[0];
    var setPending = state[1];
    React.useEffect(function () { setPending(null); }, [data.ack, data.status]);

    var items = (data.actions || []).map(function (action) {
      if (action === "view") {
        return el("a", {
          key: "view", href: detailHref(data.runner_id), onClick: navigate,
          className: "btn btn-sm btn-outline-info grid-btn", "data-action": "view",
        }, "View");
      }
      var spec = BUTTON[action] || [action, "btn-outline-light", action];
      var busy = pending === action;
      return el("button", {
        key: action, type: "button", title: spec[2], "data-action": action,
        className: "btn btn-sm grid-btn " + spec[1] + (busy ? " is-busy" : ""),
        disabled: Boolean(pending) || Boolean(data.offline),
        onClick: function () {
          setPending(action);
          window.dash_clientside.set_props(props.actionStore, {
            data: { action: action, runner_id: data.runner_id, nonce: Date.now() },
          });
        },
      }, busy ? [el("span", { key: "s", className: "spinner-border spinner-border-sm me-1" }),
        spec[0]] : spec[0]);
    });
    return el("div", { className: "grid-actions" }, items);
  };
})();
