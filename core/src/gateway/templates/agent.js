// The agent playground (/agent): posts the prompt to /api/agent/prompt and shows the reply as
// it streams in (server-sent events read through fetch), every tool call with its arguments
// and then its result or error. The conversation lives in this page: it is sent back with each
// prompt, and a reload or "New conversation" starts another.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("prompt");
  if (!form) return;
  const input = document.getElementById("prompt-text");
  const send = document.getElementById("send");
  const state = document.getElementById("state");
  const conversation = document.getElementById("conversation");
  /** The messages so far, as the gateway reported them when each reply was done. */
  let history = [];

  /** Appends a `tag` element of `className` holding `text` to `parent`. */
  function add(parent, tag, className, text) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined) element.textContent = text;
    parent.appendChild(element);
    return element;
  }

  const pretty = (value) => JSON.stringify(value, null, 2);

  /** Shows one prompt and, as events come, its reply: text, tool calls, results, errors. */
  function exchange(prompt) {
    add(conversation, "div", "msg user", prompt);
    const reply = add(conversation, "div", "msg assistant");
    let text = null;
    const calls = new Map();
    const scroll = () => reply.scrollIntoView({ block: "end" });
    return {
      /** Whether the reply ended, done or failed. */
      finished: false,
      show(event) {
        if (event.type === "text") {
          text ??= add(reply, "p", "text", "");
          text.textContent += event.text;
        } else if (event.type === "tool_call") {
          // Text after a tool call is a new paragraph, below it.
          text = null;
          const box = add(reply, "details", "tool");
          box.open = true;
          box.dataset.tool = event.call.name;
          const summary = add(box, "summary", "", "");
          add(summary, "code", "", event.call.name);
          const status = add(summary, "span", "tool-status muted", "running");
          add(box, "div", "tool-label", "Arguments");
          add(box, "pre", "tool-arguments", pretty(event.call.arguments));
          calls.set(event.call.id, { box, status });
        } else if (event.type === "tool_result") {
          text = null;
          const { box, status } = calls.get(event.call.id) ?? this.orphan(event.call);
          calls.delete(event.call.id);
          if (event.call.error !== undefined) {
            status.textContent = "refused or failed";
            status.className = "tool-status error";
            add(box, "div", "tool-label", "Error");
            add(box, "pre", "tool-error", event.call.error);
          } else {
            status.textContent = "done";
            status.className = "tool-status ok";
            add(box, "div", "tool-label", "Result");
            add(box, "pre", "tool-result", pretty(event.call.result));
          }
        } else if (event.type === "done") {
          history = history.concat(event.response.messages);
          const usage = event.response.usage;
          state.textContent = `Done: ${usage.input_tokens} tokens in, ${usage.output_tokens} out.`;
          reply.classList.add("done");
          this.finished = true;
        } else if (event.type === "error") {
          this.error(event.error);
        }
        scroll();
      },
      /** A result whose call was not shown: shows the call first. */
      orphan(call) {
        this.show({ type: "tool_call", call });
        return calls.get(call.id);
      },
      error(message) {
        add(reply, "p", "error", message);
        state.textContent = "Failed.";
        this.finished = true;
        scroll();
      },
    };
  }

  /** The events of a `text/event-stream` response, parsed as they arrive. */
  async function* events(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).trimStart())
          .join("\n");
        if (data) yield JSON.parse(data);
      }
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const prompt = input.value.trim();
    if (!prompt || send.disabled) return;
    send.disabled = true;
    state.textContent = "Asking…";
    input.value = "";
    const shown = exchange(prompt);
    try {
      const response = await fetch("/api/agent/prompt", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "text/event-stream",
          "X-CSRF-Token": form.dataset.csrf,
        },
        body: JSON.stringify({ prompt, messages: history }),
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        shown.error(body.error ?? `the gateway answered ${response.status}`);
        return;
      }
      state.textContent = "Streaming…";
      for await (const event of events(response)) shown.show(event);
      if (!shown.finished) shown.error("the reply stopped before it was done; try again");
    } catch (err) {
      shown.error(`the connection to the gateway failed (${err.message}); try again`);
    } finally {
      send.disabled = false;
      input.focus();
    }
  });

  // Enter sends, Shift+Enter starts a new line.
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  document.getElementById("clear").addEventListener("click", () => {
    history = [];
    conversation.replaceChildren();
    state.textContent = "";
    input.focus();
  });

  // The model field's placeholder names the chosen provider's default model.
  const provider = document.getElementById("provider");
  const model = document.getElementById("model");
  const placeholder = () => {
    const chosen = provider.selectedOptions[0]?.dataset.model;
    model.placeholder = chosen ? `${chosen} (the provider's default)` : "the provider's default";
  };
  provider.addEventListener("change", placeholder);
  placeholder();
});
