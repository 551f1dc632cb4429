// The Online / Offline toggle: the agent's presence as the server has it.
import { $ } from "../lib/dom.js";
import { api } from "../lib/api.js";
import { AGENT, fail } from "./state.js";

/** Show the server's presence and send every change of the toggle. */
export function initPresence() {
  const toggle = $("online-toggle");
  const setOnlineLabel = (online) => {
    toggle.checked = online;
    $("online-label").textContent = online ? "Online" : "Offline";
  };
  // The toggle stays disabled until the server's presence is known: a click before that would be lost
  // (no handler yet) or overwritten by the late answer.
  api("GET", "/api/v1/auth/me")
    .then((user) => setOnlineLabel(Boolean(user.online)), fail)
    .finally(() => { toggle.disabled = false; });
  toggle.addEventListener("change", async () => {
    try {
      const result = await api("POST", AGENT + "/status", { online: toggle.checked });
      setOnlineLabel(result && "online" in result ? Boolean(result.online) : toggle.checked);
    } catch (err) {
      setOnlineLabel(!toggle.checked);
      fail(err);
    }
  });
}
