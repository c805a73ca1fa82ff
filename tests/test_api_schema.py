"""Every operation of the app's own OpenAPI schema, fed generated requests by schemathesis
(through the ASGI app, no network): none may answer with a server error, and every answer
must be one the description promises: a documented status, its content type, and a body
matching its schema (errors included: every API error is an ErrorBody)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from viko.corpus.catalogue import Catalogue
from viko.corpus.document import make_document
from viko.corpus.tm import TranslationMemory, Unit
from viko.settings import Settings
from viko.web.app import create_app

from helpers import FakeEncoder

EXAMPLES = 15  # per operation: about 20 operations, a minute on a loaded machine


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    from viko.runtime import run_index

    folder: Path = tmp_path_factory.mktemp("schema")
    with Catalogue.open(folder / "catalogue.sqlite") as cat:
        cat.upsert_many([make_document({"id": "v", "lang": "vi", "title": "Hợp tác", "text": "Hợp tác năng lượng."}),
                         make_document({"id": "k", "lang": "ko", "title": "협력", "text": "에너지 협력."})])
        with cat.conn:
            TranslationMemory(cat).add_many([Unit("Hợp tác.", "협력.", "aligned", 0.9, "v", "k", (0,), (0,))])
    with pytest.MonkeyPatch.context() as patch:  # undone after this module: later tests use real models
        patch.setattr("viko.runtime.cached_encoder", lambda spec: FakeEncoder())
        run_index(Settings(data_dir=folder))
        # a token is set, so the token routes answer 401 (and 429 once the guesses are throttled)
        app = create_app(Settings(data_dir=folder, admin_token="a-token-nobody-guesses-0123", web_rate_per_minute=0))
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_answers_conform_to_the_description(api_schema: schemathesis.BaseSchema) -> None:
    # schemathesis's own pytest decorator does not run under pytest 9 yet (it renames test
    # nodes through a private attribute), so each operation's case strategy runs under
    # hypothesis here; the cases, the calls and the checks are schemathesis's.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        conforms()
