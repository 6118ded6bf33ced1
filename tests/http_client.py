"""What the serving tests share: a free loopback port and a JSON ``dataframe_split`` POST."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pandas as pd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_frame(url: str, frame: pd.DataFrame) -> tuple[int, dict]:
    """POST ``frame`` as MLflow's ``dataframe_split`` JSON: (status, decoded body)."""
    body = {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
    req = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
