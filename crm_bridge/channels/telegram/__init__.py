"""Telegram (Bot API): webhook checked by its secret token, private text messages as turns, sendMessage."""
