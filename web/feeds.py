"""Saved searches and Atom feeds.

- `/saved` (and `/api/saved`): the signed-in user's saved searches, each with the number of
  documents "new since your last visit": returned by the search as that user sees it, and
  added or changed in the catalogue after the search's `last_seen_at`. The search page's
  "Save this search" form posts to `/saved` (`POST /api/saved` takes JSON); `/saved/ID` lists
  what is new and marks it seen. Only the owner sees, opens or deletes a saved search: anyone
  else gets the 404 of a search that does not exist.
- `/saved/ID/feed.atom?token=...`: the private feed, searched as the owner, opened by its
  token alone (feed readers do not sign in); a new link revokes the old one, a revoked one is a
  404. The token is shown once, when it is made.
- `/feed.atom?q=...` (the search page's parameters): an ad-hoc feed of public documents only,
  searched as the anonymous visitor whoever asks, so it may be shared.

A feed lists the documents the search returns, newest first by their catalogue `updated_at`,
up to FEED_ENTRIES, each with a `tag:` id that stays the same when the document changes.
What the owner has "seen" is the live index generation's build time, not the clock: a
document stored after it was not searchable yet, so it stays new until a visit that could
have shown it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import FormData

from viko.corpus import saved
from viko.corpus.access import ANONYMOUS, Viewer
from viko.corpus.saved import SavedError, SavedSearch
from viko.runtime import open_catalogue
from viko.search.engine import Scored, SearchEngine
from viko.search.facets import FACETS, Filters
from viko.settings import Settings
from viko.web.atom import ATOM_TYPE, EPOCH, FeedEntry, atom_feed, doc_tag, etag_of
from viko.web.search import (
    HitModel,
    SearchPage,
    SearchParams,
    SearchQuery,
    hit_model,
    parse_search,
    ranked_page,
)
from viko.web.services import Services
from viko.web.shared import TokenFirstRoute, Web, doc_href, page_routes

FEED_ENTRIES = 50  # a feed reader keeps what it has read; the newest are what it needs
NEW_SHOWN = 50  # documents listed on a saved search's page
MAX_TOKEN_CHARS = 200


class SavedInput(BaseModel):
    """A search to keep: its name and the search page's parameters."""

    name: str = Field(default="", max_length=saved.MAX_NAME_CHARS, description="Default: the query")
    q: str = Field(max_length=6000, description="The query, as on the search page")
    lang: list[str] = Field(default=[], max_length=20)
    type: list[str] = Field(default=[], max_length=20)
    source: list[str] = Field(default=[], max_length=20)
    year: list[str] = Field(default=[], max_length=20)
    after: str = Field(default="", max_length=10, description="Dated on or after YYYY[-MM[-DD]]")
    before: str = Field(default="", max_length=10, description="Dated before YYYY[-MM[-DD]]")
    sort: str = Field(default="relevance", description="relevance or date")
    exact: bool = False


class SavedModel(BaseModel):
    id: int
    name: str
    search: str = Field(description="The search page's query string")
    url: str = Field(description="The search page of this search")
    created_at: str
    last_seen_at: str = Field(description="Documents added or changed after this are new")
    new: int | None = Field(default=None, description="Documents new since your last visit (null: not known now)")
    feed: bool = Field(description="Whether a private feed link is active")
    feed_created_at: str = ""
    feed_url: str = Field(default="", description="The private feed's URL: given only when the link is made")
    error: str = Field(default="", description="Why the search cannot run now")


class SavedPage(BaseModel):
    searches: list[SavedModel] = []
    max_saved: int = saved.MAX_PER_USER


class SavedDetail(BaseModel):
    saved: SavedModel
    since: str = Field(description="The last visit before this one")
    total_new: int = 0
    hits: list[HitModel] = Field(default=[], description=f"What is new, newest first (at most {NEW_SHOWN})")


@dataclass(frozen=True)
class Found:
    """A saved or ad-hoc search run as one viewer: its engine, results in order and terms."""

    engine: SearchEngine
    items: list[Scored]
    terms: list[str]


def search_of(settings: Settings, search: str) -> SearchParams:
    """A stored query string as the search page would read it (same checks, same limits)."""
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(search):
        values.setdefault(name, []).append(value)

    def one(name: str, default: str = "") -> str:
        return (values.get(name) or [default])[-1]

    filters = Filters.of(**{facet: values.get(facet, []) for facet in FACETS})
    return checked(parse_search(settings, one("q"), filters, one("sort", "relevance"), None, 0, 1,
                                one("after"), one("before"), one("exact") in ("1", "true", "on")))


def checked(params: SearchParams) -> SearchParams:
    if params.error:
        raise HTTPException(params.status, params.error)
    if not params.q.strip():
        raise HTTPException(400, "the query is empty: a saved search or a feed needs words to search")
    return params


def canonical(params: SearchParams) -> str:
    return urlencode(params.links.params())


def run(services: Services, params: SearchParams, viewer: Viewer) -> Found:
    """Every result as the viewer sees it, with the page's filters, dates and sort; 400 for a
    query that cannot run, 503 without an index."""
    page = SearchPage(query=params.q)
    found = ranked_page(services, params, page, viewer)
    if found is None:
        raise HTTPException(400, page.error)
    return Found(services.engine(viewer), found[0], found[1])


def seen_now(engine: SearchEngine) -> str:
    """What a visit has seen: the documents stored before the live generation was built."""
    return saved.catalogue_time(engine.index.manifest.created)


def saved_model(item: SavedSearch, new: int | None = None, error: str = "", feed_url: str = "") -> SavedModel:
    return SavedModel(id=item.id, name=item.name, search=item.search, url="/?" + item.search,
                      created_at=item.created_at, last_seen_at=item.last_seen_at, new=new, feed=item.has_feed,
                      feed_created_at=item.feed_created_at, feed_url=feed_url, error=error)


def feed_path(request: Request, saved_id: int, token: str) -> str:
    return f"{base_of(request)}/saved/{saved_id}/feed.atom?" + urlencode({"token": token})


def base_of(request: Request) -> str:
    return str(request.base_url).rstrip("/")


class SavedDesk:
    """The saved searches of signed-in users: reads on the app's reader, writes on a
    connection of their own (small, and not worth the writing lock imports hold)."""

    def __init__(self, web: Web, services: Services) -> None:
        self.web, self.services, self.settings = web, services, web.settings

    def owner(self, request: Request, csrf: str | None = None, check_csrf: bool = True) -> Viewer:
        """The signed-in account the request acts as (the operator's token is nobody's)."""
        viewer = self.web.auth.require(request, ("read",), csrf=csrf, check_csrf=check_csrf)
        if self.web.auth.user(viewer.name) is None:
            raise HTTPException(403, "saved searches belong to an account: sign in, or use a user's token "
                                     "(`viko user token NAME`)")
        return viewer

    def get(self, viewer: Viewer, saved_id: int) -> SavedSearch:
        with self.services.reader.read() as cat:
            found = saved.get(cat, viewer.name, saved_id)
        if found is None:
            raise HTTPException(404, f"you have no saved search {saved_id}")
        return found

    def new_count(self, item: SavedSearch, viewer: Viewer) -> tuple[int | None, str]:
        try:
            found = run(self.services, search_of(self.settings, item.search), viewer)
        except HTTPException as exc:
            return None, str(exc.detail)
        with self.services.reader.read() as cat:
            return len(saved.changed(cat, [s.doc_id for s in found.items], item.last_seen_at)), ""

    def listing(self, viewer: Viewer) -> SavedPage:
        with self.services.reader.read() as cat:
            items = saved.of_owner(cat, viewer.name)
        return SavedPage(searches=[saved_model(item, *self.new_count(item, viewer)) for item in items])

    def add(self, request: Request, viewer: Viewer, name: str, params: SearchParams) -> SavedModel:
        search = canonical(checked(params))
        if len(params.q) > self.settings.max_query_chars:
            raise HTTPException(400, f"the query is {len(params.q)} characters long; the limit is "
                                     f"{self.settings.max_query_chars}")
        try:
            seen = seen_now(self.services.engine(viewer))
        except HTTPException:  # no index yet: nothing has been seen
            seen = EPOCH
        with open_catalogue(self.settings) as cat:
            try:
                item, token = saved.add(cat, viewer.name, name.strip() or params.q[:saved.MAX_NAME_CHARS], search, seen)
            except SavedError as exc:
                raise HTTPException(400, str(exc)) from exc
        return saved_model(item, 0, feed_url=feed_path(request, item.id, token))

    def change(self, request: Request, viewer: Viewer, saved_id: int, action: str) -> str:
        """Deletes the search, or makes (answering its URL) or revokes its feed link."""
        with open_catalogue(self.settings) as cat:
            if action == "delete":
                done: object = saved.remove(cat, viewer.name, saved_id)
            elif action == "feed":
                done = saved.new_feed_token(cat, viewer.name, saved_id)
            elif action == "revoke":
                done = saved.revoke_feed(cat, viewer.name, saved_id)
            else:
                raise HTTPException(400, f"unknown action {action!r}: use delete, feed or revoke")
        if not done:
            raise HTTPException(404, f"you have no saved search {saved_id}")
        return feed_path(request, saved_id, done) if isinstance(done, str) else ""

    def visit(self, viewer: Viewer, saved_id: int) -> SavedDetail:
        """What is new in the search since the last visit; this visit is then remembered."""
        item = self.get(viewer, saved_id)
        found = run(self.services, search_of(self.settings, item.search), viewer)
        with self.services.reader.read() as cat:
            stamps = saved.changed(cat, [s.doc_id for s in found.items], item.last_seen_at)
        fresh = sorted((s for s in found.items if s.doc_id in stamps),
                       key=lambda s: (stamps[s.doc_id][1], s.doc_id), reverse=True)
        hits = [hit_model(found.engine, s, found.terms) for s in fresh[:NEW_SHOWN]]
        seen = seen_now(found.engine)
        if seen != item.last_seen_at:
            with open_catalogue(self.settings) as cat:
                saved.mark_seen(cat, viewer.name, saved_id, seen)
        return SavedDetail(saved=saved_model(item, len(stamps)), since=item.last_seen_at, total_new=len(stamps),
                           hits=hits)

    def feed(self, request: Request, found: Found, title: str, feed_id: str, alternate: str) -> Response:
        """The Atom document of a search's newest documents (304 when the reader has it)."""
        with self.services.reader.read() as cat:
            stamps = saved.changed(cat, [s.doc_id for s in found.items])
        newest = sorted((s for s in found.items if s.doc_id in stamps),
                        key=lambda s: (stamps[s.doc_id][1], s.doc_id), reverse=True)[:FEED_ENTRIES]
        base, host = base_of(request), request.url.hostname or "localhost"
        entries = []
        for item in newest:
            hit = found.engine.hit(item, found.terms)  # contacts masked for the anonymous viewer
            added, updated = stamps[item.doc_id]
            entries.append(FeedEntry(doc_tag(host, added, hit.id), hit.title or hit.id, base + doc_href(hit.id),
                                     updated, added, hit.snippet, hit.lang, hit.type))
        body = atom_feed(title, feed_id, str(request.url), base + alternate, entries)
        etag = etag_of(body)
        headers = {"ETag": etag, "Cache-Control": "private, max-age=60"}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=ATOM_TYPE, headers=headers)


def feeds_router(web: Web, services: Services) -> APIRouter:
    router = APIRouter(route_class=TokenFirstRoute, tags=["saved searches and feeds"])
    desk = SavedDesk(web, services)

    def listing(request: Request) -> Any:
        return web.respond(request, "saved.html", desk.listing(desk.owner(request)))

    def visit(request: Request, saved_id: int) -> Any:
        return web.respond(request, "saved_search.html", desk.visit(desk.owner(request), saved_id))

    page_routes(router, "/saved", "/api/saved", listing, SavedPage,
                "Your saved searches, each with what is new since your last visit")
    page_routes(router, "/saved/{saved_id}", "/api/saved/{saved_id}", visit, SavedDetail,
                "What a saved search returns that is new since your last visit (marks it seen)")
    _api_routes(router, web, desk)
    _form_routes(router, web, desk)
    _feed_routes(router, services, desk)
    return router


def _api_routes(router: APIRouter, web: Web, desk: SavedDesk) -> None:
    readers = web.needs("read")

    @router.post("/api/saved", status_code=201, response_model=SavedModel, dependencies=[Depends(readers)],
                 summary="Save a search (signed in); the answer's feed_url is shown this once")
    def api_add(request: Request, body: SavedInput) -> Any:
        filters = Filters.of(lang=body.lang, type=body.type, source=body.source, year=body.year)
        params = parse_search(web.settings, body.q, filters, body.sort, None, 0, 1, body.after, body.before,
                              body.exact)
        return desk.add(request, desk.owner(request), body.name, params)

    @router.delete("/api/saved/{saved_id}", dependencies=[Depends(readers)], summary="Delete one of your saved searches")
    def api_remove(request: Request, saved_id: int) -> dict[str, int]:
        desk.change(request, desk.owner(request), saved_id, "delete")
        return {"removed": saved_id}

    @router.post("/api/saved/{saved_id}/feed", dependencies=[Depends(readers)],
                 summary="A new private feed link for a saved search (the old one stops working)")
    def api_new_feed(request: Request, saved_id: int) -> dict[str, str]:
        return {"feed_url": desk.change(request, desk.owner(request), saved_id, "feed")}

    @router.delete("/api/saved/{saved_id}/feed", dependencies=[Depends(readers)],
                   summary="Revoke a saved search's feed link (its URL answers 404 from now on)")
    def api_revoke_feed(request: Request, saved_id: int) -> dict[str, int]:
        desk.change(request, desk.owner(request), saved_id, "revoke")
        return {"revoked": saved_id}


def _form_routes(router: APIRouter, web: Web, desk: SavedDesk) -> None:
    """The pages' forms (CSRF-checked): save a search, and delete one or make or revoke its
    feed link. A new link is shown on the page that answers, the one time it can be."""

    async def form_of(request: Request) -> tuple[Viewer, FormData]:
        desk.owner(request, check_csrf=False)
        form = await request.form(max_files=0, max_fields=10)
        csrf = form.get("csrf_token")
        return desk.owner(request, csrf=csrf if isinstance(csrf, str) else ""), form

    def shown(request: Request, viewer: Viewer, fresh: SavedModel | None) -> Response:
        page = desk.listing(viewer)
        if fresh is not None:
            page.searches = [fresh if s.id == fresh.id else s for s in page.searches]
        return web.render(request, "saved.html", {"page": page, "fresh": fresh})

    @router.post("/saved", include_in_schema=False)
    async def add_form(request: Request) -> Response:
        viewer, form = await form_of(request)
        search, name = form.get("search"), form.get("name")
        if not isinstance(search, str) or len(search) > saved.MAX_SEARCH_CHARS:
            raise HTTPException(400, "the form lost its search: search again, then save it")
        item = desk.add(request, viewer, name if isinstance(name, str) else "", search_of(web.settings, search))
        return shown(request, viewer, item)

    @router.post("/saved/{saved_id}", include_in_schema=False)
    async def edit_form(request: Request, saved_id: int) -> Response:
        viewer, form = await form_of(request)
        action = form.get("action")
        url = desk.change(request, viewer, saved_id, action if isinstance(action, str) else "")
        if not url:
            return RedirectResponse("/saved", status_code=303)
        item = desk.get(viewer, saved_id)
        return shown(request, viewer, saved_model(item, *desk.new_count(item, viewer), feed_url=url))


def _feed_routes(router: APIRouter, services: Services, desk: SavedDesk) -> None:
    @router.get("/feed.atom", include_in_schema=False)
    def public_feed(request: Request, params: SearchQuery) -> Response:
        params = checked(params)
        found = run(services, params, ANONYMOUS)  # shared links: public documents, whoever asks
        search = canonical(params)
        host = request.url.hostname or "localhost"
        return desk.feed(request, found, f"viko: {params.q}", f"tag:{host},2024:viko/feed?{search}", "/?" + search)

    @router.get("/saved/{saved_id}/feed.atom", include_in_schema=False)
    def private_feed(request: Request, saved_id: int, token: str = Query("", max_length=MAX_TOKEN_CHARS)) -> Response:
        with services.reader.read() as cat:
            item = saved.by_feed_token(cat, saved_id, token)
        owner = desk.web.auth.user(item.owner) if item is not None else None
        if item is None or owner is None:
            raise HTTPException(404, "no such feed: the link was revoked, replaced or mistyped")
        found = run(services, search_of(desk.settings, item.search), owner.viewer)
        host = request.url.hostname or "localhost"
        return desk.feed(request, found, f"viko: {item.name}",
                         f"tag:{host},{item.created_at[:10]}:viko/saved/{item.id}", "/?" + item.search)
