"""`kefu channels telegram set-webhook --url URL`: register crm_bridge's webhook with Telegram."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from crm_bridge.channels.outbound import SendError
from crm_bridge.channels.telegram import client as telegram
from kefu_core.settings import get_settings


def telegram_set_webhook(args: argparse.Namespace) -> int:
    """Call setWebhook with the URL and KEFU_TELEGRAM_WEBHOOK_SECRET (sent back with every update)."""
    settings = get_settings()
    sender = telegram.sender()
    if sender is None:
        print("set KEFU_TELEGRAM_BOT_TOKEN and KEFU_TELEGRAM_WEBHOOK_SECRET first", file=sys.stderr)
        return 2
    if not args.url.startswith("https://") and not args.allow_http:
        print(
            "Telegram only calls https:// webhooks (use --allow-http for a local test API)", file=sys.stderr
        )
        return 2
    try:
        sender.call(
            "setWebhook",
            {
                "url": args.url,
                "secret_token": settings.telegram_webhook_secret.strip(),
                "allowed_updates": ["message"],  # edits, groups and the rest are ignored anyway
                "drop_pending_updates": args.drop_pending,
            },
        )
    except SendError as exc:
        print(f"error: {exc.reason}", file=sys.stderr)
        return 1
    print(f"Telegram will deliver updates to {args.url}")
    return 0


def add_channels_commands(subparsers: Any) -> None:
    """Register `channels telegram set-webhook` on the `kefu` subcommand parsers."""
    group = subparsers.add_parser("channels", help="IM channels (Telegram)")
    sub = group.add_subparsers(dest="channels_command", required=True)
    tg = sub.add_parser("telegram", help="the Telegram channel")
    tg_sub = tg.add_subparsers(dest="telegram_command", required=True)
    hook = tg_sub.add_parser("set-webhook", help="register the webhook URL (with the secret) at Telegram")
    hook.add_argument("--url", required=True, help="https://your-host/webhooks/telegram")
    hook.add_argument(
        "--drop-pending", action="store_true", help="discard updates Telegram holds for the bot"
    )
    hook.add_argument("--allow-http", action="store_true", help=argparse.SUPPRESS)
    hook.set_defaults(func=telegram_set_webhook)
