"""Slack (Events API): signed direct messages to the app as turns, replies through chat.postMessage."""
