/// The dashboard's stylesheet and script, served by the orchestrator itself (no CDN, no build
/// step). Pages work without the script; with it, lists refresh in place every two seconds,
/// a task's output follows live over Server-Sent Events, and cancel needs no reload.
enum Assets {
  static let css = """
    :root { --fg:#1d2330; --muted:#6b7385; --bg:#f7f8fa; --card:#fff; --line:#e2e5ea; --accent:#3657d3;
      --ok:#1f8a4c; --bad:#c0392b; --warn:#b7791f; --run:#2b6cb0; }
    * { box-sizing: border-box; }
    body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
    header { display:flex; gap:1.5em; align-items:center; padding:.7em 1.5em; background:#1d2330; color:#fff; }
    header a { color:#cfd6e6; text-decoration:none; margin-right:1em; }
    header a.active, header a:hover { color:#fff; }
    header .brand { font-weight:700; color:#fff; font-size:16px; }
    header .who { margin-left:auto; font-size:12px; color:#cfd6e6; }
    main { padding:1.2em 1.5em; max-width:1400px; }
    h1 { font-size:20px; margin:.2em 0 .8em; } h2 { font-size:16px; margin:1.4em 0 .5em; }
    h1 .count { color:var(--muted); font-weight:400; }
    table { border-collapse:collapse; width:100%; background:var(--card); border:1px solid var(--line); }
    th, td { text-align:left; padding:.4em .6em; border-bottom:1px solid var(--line); vertical-align:top; }
    th { font-weight:600; color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
    td.id, .id { font-family:ui-monospace, monospace; }
    td.message { max-width:28em; overflow-wrap:anywhere; color:var(--muted); }
    td.bar { width:40%; } svg.attempt-bar { width:100%; height:14px; }
    .state { display:inline-block; padding:0 .5em; border-radius:3px; font-size:12px; font-weight:600; background:#e8ebf0; }
    .state.succeeded, .state.active { background:#dcf3e5; color:var(--ok); }
    .state.failed, .state.lost, .state.disconnected { background:#f8e0dd; color:var(--bad); }
    .state.running, .state.assigned { background:#e0ebf8; color:var(--run); }
    .state.cancelled, .state.inactive, .state.preempted, .state.drained { background:#f6ecd9; color:var(--warn); }
    .flag { font-size:12px; color:var(--warn); }
    .label { display:inline-block; font-size:12px; background:#eef0f4; border-radius:3px; padding:0 .4em; margin:1px; font-family:ui-monospace, monospace; }
    .cards { display:flex; flex-wrap:wrap; gap:.7em; }
    .card { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:.6em 1em; min-width:9em; }
    .card .value { font-size:22px; font-weight:700; } .card .title { color:var(--muted); font-size:12px; }
    svg.chart, svg.shares { width:100%; max-width:760px; background:var(--card); border:1px solid var(--line); }
    svg .axis { stroke:#c9ced8; } svg .label { fill:var(--muted); font-size:11px; }
    svg .submitted, .legend .submitted { fill:var(--accent); color:var(--accent); }
    svg .finished, .legend .finished { fill:var(--ok); color:var(--ok); }
    svg .pending { fill:#a0a7b4; } svg .assigned { fill:#9fbce6; } svg .running { fill:var(--run); }
    svg .succeeded { fill:var(--ok); } svg .failed, svg .lost { fill:var(--bad); } svg .cancelled, svg .preempted, svg .drained { fill:var(--warn); }
    svg .empty { fill:#eef0f4; }
    .legend .pending { color:#a0a7b4; } .legend .assigned { color:#9fbce6; } .legend .running { color:var(--run); }
    .legend .succeeded { color:var(--ok); } .legend .failed { color:var(--bad); } .legend .cancelled { color:var(--warn); }
    dl.summary { display:grid; grid-template-columns:max-content 1fr; gap:.25em 1.2em; background:var(--card); border:1px solid var(--line); padding:.8em 1em; margin:0; }
    dl.summary dt { color:var(--muted); } dl.summary dd { margin:0; white-space:pre-wrap; overflow-wrap:anywhere; }
    pre.output, pre.agent-text { background:#11151c; color:#d7dde8; padding:.8em 1em; border-radius:6px; max-height:36em; overflow:auto; white-space:pre-wrap; overflow-wrap:anywhere; }
    pre.output .stderr { color:#f2a69c; } pre.output .system { color:#9fb3d9; font-style:italic; }
    .agent-events .agent-event { font-family:ui-monospace, monospace; font-size:12px; padding:.15em .4em; border-left:3px solid var(--line); margin:.1em 0; white-space:pre-wrap; overflow-wrap:anywhere; }
    .agent-event.tool_call { border-color:var(--accent); } .agent-event.tool_result { border-color:var(--ok); } .agent-event.result { border-color:var(--warn); font-weight:600; }
    form.filters { margin-bottom:1em; } form.filters input, form.filters select { font:inherit; padding:.2em .4em; }
    form.cancel button { margin-top:.8em; background:var(--bad); color:#fff; border:0; border-radius:4px; padding:.4em 1em; font:inherit; cursor:pointer; }
    .empty, .notice, .phase { color:var(--muted); } .error { color:var(--bad); }
    .pages { margin-top:.8em; }
    """

  static let javascript = """
    "use strict";
    (function () {
      var main = document.getElementById("main");
      var output = document.getElementById("output");

      // Lists and summaries: fetch the page again and swap the parts that change.
      // A task's page asks for its summary only: the output comes over the live stream.
      function refresh(ids, url) {
        fetch(url || location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (text) {
            if (text === null) return;
            var fresh = new DOMParser().parseFromString(text, "text/html");
            ids.forEach(function (id) {
              var now = document.getElementById(id), next = fresh.getElementById(id);
              // The cancel form is only ever removed (once the task ended): replacing it
              // under a pointer about to click would lose the click.
              if (id === "cancel") { if (now && !next) now.remove(); return; }
              if (now && next) now.replaceWith(next);
            });
          })
          .catch(function () {});
      }

      if (main && !output) {
        setInterval(function () {
          if (document.activeElement && document.activeElement.form) return;  // typing a filter
          refresh(["main"]);
        }, 2000);
        return;
      }
      if (!output) return;

      // A task: follow its output from where the page stopped.
      var task = output.dataset.task;
      var done = output.dataset.terminal === "1";
      var events = document.getElementById("agent-events");
      function atBottom() { return output.scrollHeight - output.scrollTop - output.clientHeight < 40; }
      function append(parent, cls, text, tag) {
        var node = document.createElement(tag);
        node.className = cls;
        node.textContent = text;
        parent.appendChild(node);
      }
      function setState(state) {
        var badge = document.getElementById("state");
        if (!badge) return;
        badge.innerHTML = "";
        var span = document.createElement("span");
        span.className = "state " + state.toLowerCase();
        span.textContent = state;
        badge.appendChild(span);
      }
      var summaryURL = location.pathname + "?parts=summary";
      var timer = setInterval(function () { refresh(["summary", "timeline", "cancel"], summaryURL); }, 2000);
      if (!done && window.EventSource) {
        var source = new EventSource("/tasks/" + encodeURIComponent(task) + "/events?after=" + output.dataset.lastEventId);
        source.addEventListener("output", function (message) {
          var event = JSON.parse(message.data), follow = atBottom();
          append(output, event.stream, event.text, "span");
          if (follow) output.scrollTop = output.scrollHeight;
        });
        source.addEventListener("agent", function (message) {
          var event = JSON.parse(message.data);
          append(events, "agent-event " + event.stream, event.text, "div");
        });
        source.addEventListener("notice", function () {
          append(output, "system", "[orchion] earlier output was dropped\\n", "span");
        });
        source.addEventListener("final", function (message) {
          var task = JSON.parse(message.data);
          setState(task.state);
          var cancel = document.getElementById("cancel");
          if (cancel) cancel.remove();
          source.close();
          refresh(["summary", "timeline"], summaryURL);
          clearInterval(timer);
        });
      } else if (done) {
        clearInterval(timer);
      }

      // Cancel without leaving the page: the state arrives over the stream.
      document.addEventListener("submit", function (event) {
        var form = event.target;
        if (form.id !== "cancel") return;
        event.preventDefault();
        var button = form.querySelector("button");
        if (button) { button.disabled = true; button.textContent = "Cancelling…"; }
        fetch(form.action, { method: "POST", credentials: "same-origin", body: new URLSearchParams(new FormData(form)) })
          .then(function () { refresh(["summary", "timeline"], summaryURL); })
          .catch(function () { if (button) { button.disabled = false; button.textContent = "Cancel task"; } });
      });
    })();
    """
}
