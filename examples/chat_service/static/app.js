// The chat page: plain JavaScript over the service's JSON API, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const WAYS = {
  new_chat: "Start a new chat",
  edit: "Edit one of your earlier messages to continue from there",
  feedback: "Tell us if this end was a mistake",
};

// Stands in for your login: the service reads the user from X-User-Id.
let user = localStorage.getItem("convguard-user");
if (!user) {
  user = "user-" + Math.random().toString(36).slice(2, 10);
  localStorage.setItem("convguard-user", user);
}
let chatId = null;
let view = null;

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", "X-User-Id": user },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const error = new Error(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail));
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function operatorLines(message) {
  const box = el("div", { className: "op" });
  const verdict = message.verdict;
  if (verdict) {
    box.append(el("span", { className: "action " + verdict.action, textContent: verdict.action }));
    const reasons = el("ul", { className: "reasons" });
    for (const reason of verdict.reasons) reasons.append(el("li", { textContent: reason }));
    box.append(reasons);
  }
  for (const call of message.tool_calls) {
    const verb = call.granted ? "granted" : "refused";
    box.append(el("div", { className: "tool", textContent: `tool ${call.name}: ${verb}: ${call.content}` }));
  }
  return box;
}

function renderMessage(message) {
  const item = el("li", { className: "msg " + message.role });
  item.dataset.id = message.id;
  item.dataset.role = message.role;
  if (message.role === "event") {
    item.append(el("div", { className: "text", textContent: message.content || "event" }));
  } else {
    const who = el("div", { className: "who", textContent: message.role === "user" ? "You" : "Assistant" });
    if (message.role === "user") {
      const edit = el("button", { type: "button", className: "edit", textContent: "Edit" });
      edit.addEventListener("click", () => startEdit(item, message));
      who.append(edit);
    }
    item.append(who, el("div", { className: "text", textContent: message.content }));
  }
  if (message.verdict || message.tool_calls.length) item.append(operatorLines(message));
  return item;
}

function startEdit(item, message) {
  const box = el("textarea", { className: "edit-text", value: message.content, rows: 2 });
  const save = el("button", { type: "button", className: "edit-save", textContent: "Save and retry" });
  const cancel = el("button", { type: "button", textContent: "Cancel" });
  cancel.addEventListener("click", () => render(view));
  save.addEventListener("click", () =>
    act(() => api("POST", `/api/chats/${chatId}/messages/${message.id}/edit`, { text: box.value })),
  );
  item.replaceChildren(box, save, cancel);
  box.focus();
}

function render(next) {
  view = next;
  const list = $("messages");
  list.replaceChildren(...view.messages.filter((m) => m.role !== "system").map(renderMessage));
  $("chat-title").textContent = "Chat " + view.id.slice(0, 8);
  const picker = $("branches");
  picker.replaceChildren(
    ...view.branches.map((branch, index) =>
      el("option", {
        value: branch.leaf_id,
        selected: branch.active,
        textContent: `Branch ${index + 1}: ${branch.length} messages${branch.ended ? ", ended" : ""}`,
      }),
    ),
  );
  $("branch-picker").hidden = view.branches.length < 2;
  const over = view.ended || view.closed;
  $("ended").hidden = !over;
  $("composer").hidden = over;
  $("end-chat").disabled = over;
  $("delete-chat").disabled = false;
  $("confirm-end").hidden = true;
  if (over) renderEnded(view.ways_forward, view.closed);
  list.scrollTop = list.scrollHeight; // after the banner, which takes room from the list
}

function renderEnded(ways, closed) {
  $("ended-text").textContent = closed
    ? "This whole chat is closed. You can still:"
    : "No more messages can be sent on this branch. You can still:";
  $("ways-forward").replaceChildren(
    ...ways.map((way) => {
      const button = el("button", { type: "button", textContent: WAYS[way] || way });
      button.dataset.way = way;
      button.addEventListener("click", () => wayForward(way));
      return el("li", {}, button);
    }),
  );
  $("feedback").hidden = true;
  $("feedback-done").hidden = true;
}

function wayForward(way) {
  if (way === "new_chat") newChat();
  else if (way === "feedback") {
    $("feedback").hidden = false;
    $("feedback-comment").focus();
  } else {
    const edit = [...document.querySelectorAll(".msg.user .edit")].pop();
    if (edit) edit.click();
  }
}

async function act(call) {
  showError("");
  try {
    const result = await call();
    if (result && result.chat) render(result.chat);
    else if (result && result.messages) render(result);
    if (result && result.model_error) {
      showError("The assistant could not answer (your message is kept): " + result.model_error);
    }
  } catch (error) {
    if (error.status === 409 && error.data && error.data.ways_forward) {
      await openChat(chatId);
      renderEnded(error.data.ways_forward, error.data.closed);
      showError("This chat has ended: " + error.message);
    } else showError(error.message);
  }
  await loadChats();
}

async function loadChats() {
  const data = await api("GET", "/api/chats?limit=50");
  $("chat-list").replaceChildren(
    ...data.chats.map((chat) => {
      const button = el("button", {
        type: "button",
        textContent: `${chat.title} · ${chat.message_count}`,
        className: chat.id === chatId ? "current" : "",
      });
      button.dataset.id = chat.id;
      button.addEventListener("click", () => openChat(chat.id));
      return el("li", {}, button);
    }),
  );
}

async function openChat(id) {
  chatId = id;
  location.hash = "chat=" + id;
  render(await api("GET", `/api/chats/${id}`));
  await loadChats();
}

async function newChat() {
  showError("");
  const chat = await api("POST", "/api/chats", {});
  await openChat(chat.id);
  $("input").focus();
}

$("new-chat").addEventListener("click", newChat);
$("operator").addEventListener("change", (event) =>
  document.body.classList.toggle("no-operator", !event.target.checked),
);
$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("input").value.trim();
  if (!text) return;
  $("send").disabled = true;
  await act(() => api("POST", `/api/chats/${chatId}/messages`, { text }));
  $("send").disabled = false;
  $("input").value = "";
  $("input").focus();
});
$("input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});
$("branches").addEventListener("change", (event) =>
  act(() => api("POST", `/api/chats/${chatId}/switch`, { message_id: event.target.value })),
);
$("end-chat").addEventListener("click", () => {
  $("confirm-end").hidden = false;
});
$("confirm-end-no").addEventListener("click", () => {
  $("confirm-end").hidden = true;
});
$("confirm-end-yes").addEventListener("click", () =>
  act(() => api("POST", `/api/chats/${chatId}/end`, { confirmed: true, reason: "the user ended it" })),
);
$("delete-chat").addEventListener("click", async () => {
  await act(() => api("DELETE", `/api/chats/${chatId}`));
  if (!$("error").textContent) await newChat();
});
$("feedback").addEventListener("submit", async (event) => {
  event.preventDefault();
  await act(() =>
    api("POST", `/api/chats/${chatId}/feedback`, {
      kind: "unexpected_end",
      comment: $("feedback-comment").value || null,
    }),
  );
  $("feedback-done").hidden = false;
});

(async () => {
  const match = location.hash.match(/chat=([\w-]+)/);
  try {
    if (match) await openChat(match[1]);
    else await newChat();
  } catch (error) {
    await newChat();
  }
})();
