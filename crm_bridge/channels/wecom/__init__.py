"""WeCom customer service (微信客服): encrypted callbacks verified and decrypted, messages pulled with
kf/sync_msg in a queue job, replies with kf/send_msg, the session state moved on a hand-over."""
