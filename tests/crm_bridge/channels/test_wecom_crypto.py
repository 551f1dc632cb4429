"""WeCom's callback crypto checked against wechatpy's WeChatCrypto (an independent implementation of
the same scheme): its encryption decrypts here, ours decrypts there, signatures agree both ways."""

from __future__ import annotations

import base64
import os

import pytest
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from crm_bridge.channels.wecom.crypto import CryptoError, WeComCrypto, signature
from crm_bridge.channels.wecom.parse import BadPayload, xml_fields

TOKEN = "QDG6eK"
CORP_ID = "wx5823bf96d3bd56c7"
AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")  # 43 characters, as WeCom makes them


@pytest.fixture
def theirs() -> WeChatCrypto:
    return WeChatCrypto(TOKEN, AES_KEY, CORP_ID)


@pytest.fixture
def ours() -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, CORP_ID)


def _their_envelope(theirs: WeChatCrypto, message: str, nonce: str, timestamp: str) -> tuple[str, str]:
    fields = xml_fields(theirs.encrypt_message(message, nonce, timestamp).encode())
    return fields["Encrypt"], fields["MsgSignature"]


@pytest.mark.parametrize("message", ["<xml><Content>你好, kefu</Content></xml>", "x" * 31, "y" * 32, ""])
def test_their_encryption_decrypts_here_and_their_signature_verifies(
    theirs: WeChatCrypto, ours: WeComCrypto, message: str
) -> None:
    encrypted, signed = _their_envelope(theirs, message, "1372623149", "1409304348")
    assert ours.verify(signed, "1409304348", "1372623149", encrypted)
    assert not ours.verify(signed, "1409304349", "1372623149", encrypted)
    assert ours.decrypt(encrypted) == message.encode()


def test_our_encryption_decrypts_there_and_our_signature_verifies_there(
    theirs: WeChatCrypto, ours: WeComCrypto
) -> None:
    plain = "<xml><Event>kf_msg_or_event</Event><Token>ENC123</Token></xml>"
    encrypted = ours.encrypt(plain.encode())
    signed = ours.sign("1409304348", "nonce-1", encrypted)
    message = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    assert theirs.decrypt_message(message, signed, "1409304348", "nonce-1") == plain
    with pytest.raises(InvalidSignatureException):
        theirs.decrypt_message(message, signed, "1409304348", "nonce-2")


def test_url_verification_echostr_both_ways(theirs: WeChatCrypto, ours: WeComCrypto) -> None:
    echostr = PrpCrypto(theirs.key).encrypt("1616140317555161061", CORP_ID).decode()
    signed = signature(TOKEN, "1409659589", "263014780", echostr)
    assert theirs.check_signature(signed, "1409659589", "263014780", echostr) == "1616140317555161061"
    assert ours.verify(signed.upper(), "1409659589", "263014780", echostr)
    assert ours.decrypt(echostr) == b"1616140317555161061"


def test_another_corp_id_or_key_is_refused(theirs: WeChatCrypto) -> None:
    encrypted, _ = _their_envelope(theirs, "<xml/>", "n", "1")
    with pytest.raises(CryptoError, match="ReceiveId"):
        WeComCrypto(TOKEN, AES_KEY, "ww-other-corp").decrypt(encrypted)
    other_key = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    with pytest.raises(CryptoError):
        WeComCrypto(TOKEN, other_key, CORP_ID).decrypt(encrypted)
    for garbage in ("not base64!", base64.b64encode(b"short").decode(), ""):
        with pytest.raises(CryptoError):
            WeComCrypto(TOKEN, AES_KEY, CORP_ID).decrypt(garbage)


def test_a_bad_encoding_aes_key_is_refused() -> None:
    for key in ("", "abc", AES_KEY + "A", "!" * 43):
        with pytest.raises(ValueError, match="EncodingAESKey"):
            WeComCrypto(TOKEN, key, CORP_ID)


def test_xml_with_entity_declarations_or_broken_syntax_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><xml><A>&b;</A></xml>'
    external = b'<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><A>&e;</A></xml>'
    for body in (bomb, external, b"<xml><A>open", b"<other><A>1</A></other>", b""):
        with pytest.raises(BadPayload):
            xml_fields(body)
    assert xml_fields(b"<xml><ToUserName><![CDATA[ww1]]></ToUserName><AgentID>1</AgentID></xml>") == {
        "ToUserName": "ww1",
        "AgentID": "1",
    }
