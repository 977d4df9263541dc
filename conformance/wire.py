"""Raw-HTTP helpers and strict checks against the official openai SDK's types.

The SDK builds its response objects without validating them (it uses pydantic's `construct`), so
"the SDK parsed it" alone proves little. `strict` validates a raw JSON payload with pydantic
against the SDK's type and fails on any field the type does not know, at any depth.
"""

import json
import urllib.error
import urllib.request

import pydantic


def strict(model_type, payload, allow_extra=()):
    """Validates `payload` as `model_type` and returns the object; fails on unknown fields.

    `allow_extra` names extra keys (as "path.to.key", list indices as "[]") that are fine.
    """
    try:
        parsed = model_type.model_validate(payload)
    except pydantic.ValidationError as error:
        raise AssertionError(f"not a valid {model_type.__name__}: {error}\n{json.dumps(payload)[:2000]}") from None
    unknown = [path for path in _extras(parsed, model_type.__name__) if path.split(".", 1)[-1] not in allow_extra]
    assert not unknown, f"fields the SDK's {model_type.__name__} does not know: {unknown}"
    return parsed


def _extras(value, path):
    if isinstance(value, pydantic.BaseModel):
        for key in (value.model_extra or {}):
            yield f"{path}.{key}"
        for name in type(value).model_fields:
            yield from _extras(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _extras(item, f"{path}[]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _extras(item, f"{path}.{key}")


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {key.lower(): value for key, value in headers.items()}
        self.body = body

    def json(self):
        return json.loads(self.body)

    def sse_data(self):
        """The `data:` payloads of an event stream, in order, as strings (`[DONE]` included)."""
        text = self.body.decode()
        assert "\r" not in text or "\r\n" in text, "mixed line endings"
        events = []
        for block in text.replace("\r\n", "\n").split("\n\n"):
            lines = [line[len("data:"):].lstrip(" ") for line in block.split("\n") if line.startswith("data:")]
            if lines:
                events.append("\n".join(lines))
        return events


def request(method, url, body=None, key=None, headers=None):
    """One HTTP request with the stdlib; never raises for an HTTP error status."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    all_headers = {"content-type": "application/json"} if data is not None else {}
    if key is not None:
        all_headers["authorization"] = f"Bearer {key}"
    all_headers.update(headers or {})
    call = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(call, timeout=30) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers), error.read())
