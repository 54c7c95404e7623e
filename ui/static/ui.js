// Live updates over server-sent events: an execution's step states, a step's log.
// Text from the server is set with textContent only, never as HTML.
"use strict";

function setState(element, status) {
  for (const name of [...element.classList]) {
    if (name.startsWith("state-")) element.classList.remove(name);
  }
  element.classList.add("state-" + status);
}

function followExecution(root) {
  const events = new EventSource(root.dataset.events);
  events.onmessage = (message) => {
    const state = JSON.parse(message.data);
    const badge = document.getElementById("execution-status");
    badge.textContent = state.status;
    setState(badge, state.status);
    document.getElementById("execution-failure").textContent = state.failure;
    for (const element of document.querySelectorAll("[data-step]")) {
      const step = state.steps[element.dataset.step];
      if (!step) continue;
      setState(element, step.status);
      for (const label of element.querySelectorAll(".state")) {
        label.textContent = step.status + (step.cached ? " (cache hit)" : "");
        setState(label, step.status);
      }
      for (const cell of element.querySelectorAll(".failure")) cell.textContent = step.failure;
    }
    if (state.gate.length) showGate(document.getElementById("gate"), state.gate);
    root.dataset.status = state.status;
  };
  events.addEventListener("end", () => {
    events.close();
    root.dataset.live = "ended";
  });
}

function showGate(box, decisions) {
  box.replaceChildren(...decisions.map((decision) => {
    const block = document.createElement("div");
    block.className = "gate";
    const head = document.createElement("b");
    head.textContent = decision.head;
    block.append(head);
    for (const line of decision.lines) {
      const comparison = document.createElement("div");
      comparison.className = "cmp";
      comparison.textContent = line;
      block.append(comparison);
    }
    return block;
  }));
}

function tailLog(pre) {
  const events = new EventSource(pre.dataset.log);
  events.onmessage = (message) => {
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent += JSON.parse(message.data);
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  };
  events.addEventListener("end", () => {
    events.close();
    pre.dataset.live = "ended";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const execution = document.getElementById("execution");
  if (execution) followExecution(execution);
  const log = document.getElementById("log");
  if (log) tailLog(log);
});
