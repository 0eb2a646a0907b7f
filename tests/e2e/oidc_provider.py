"""A small OpenID Connect provider for the tests (the province's unified identity platform stands
in): discovery, an authorisation endpoint that signs in ``user`` at once, the token endpoint with
client_secret_basic, and its keys; ID tokens signed RS256 with joserfc (Authlib's successor to its
deprecated ``authlib.jose``)."""
from __future__ import annotations

import base64
import secrets
import threading
import time
from urllib.parse import urlencode

from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey, import_key
from werkzeug.serving import make_server

CLIENT_ID, CLIENT_SECRET = "govflow-test", "govflow-test-secret-0123456789"


def new_key() -> RSAKey:
    """A fresh RSA signing key with a ``kid`` (its RFC 7638 thumbprint)."""
    return RSAKey.generate_key(2048, auto_kid=True)


def as_signing_key(key) -> RSAKey:
    """``key`` as joserfc's: one of ``new_key``, or any key object with Authlib's ``as_dict``."""
    if isinstance(key, RSAKey):
        return key
    return import_key(key.as_dict(is_private=True), "RSA")


class Provider:
    def __init__(self):
        self.key = new_key()
        self.signing_key = self.key  # a test swaps it for a key the platform never published
        self.user = "clerk.a"
        self.codes: dict[str, dict] = {}
        self.app = Flask("oidc-provider")
        self._routes()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Provider":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()

    def _routes(self) -> None:
        app = self.app

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(issuer=self.base, authorization_endpoint=f"{self.base}/authorize",
                           token_endpoint=f"{self.base}/token", jwks_uri=f"{self.base}/jwks",
                           response_types_supported=["code"], subject_types_supported=["public"],
                           id_token_signing_alg_values_supported=["RS256"],
                           token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"])

        @app.get("/jwks")
        def jwks():
            return jsonify(keys=[self.key.as_dict(private=False)])

        @app.get("/authorize")
        def authorize():
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"nonce": request.args.get("nonce"), "user": self.user,
                                "redirect_uri": request.args["redirect_uri"]}
            query = urlencode({"code": code, "state": request.args.get("state", "")})
            return redirect(f"{request.args['redirect_uri']}?{query}")

        @app.post("/token")
        def token():
            auth = request.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            else:
                client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
            if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
                return jsonify(error="invalid_client"), 401
            grant = self.codes.pop(request.form.get("code", ""), None)
            if grant is None or grant["redirect_uri"] != request.form.get("redirect_uri"):
                return jsonify(error="invalid_grant"), 400
            now = int(time.time())
            claims = {"iss": self.base, "sub": f"sub-{grant['user']}", "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                      "nonce": grant["nonce"], "preferred_username": grant["user"], "name": grant["user"]}
            header = {"alg": "RS256", "kid": self.key.kid}  # the published key's, whichever signs
            id_token = jwt.encode(header, claims, as_signing_key(self.signing_key))
            return jsonify(access_token=secrets.token_urlsafe(16), token_type="Bearer", expires_in=300,
                           id_token=id_token, scope="openid profile")
