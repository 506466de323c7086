"""Builds the chat app sub-service for a process that runs the Router (the Inference process)."""
from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker

from tokenyard.catalog import Catalog
from tokenyard.chats.service import DEFAULT_MODEL, AppDefaultModel, ChatAppService, no_app_default
from tokenyard.chats.servicer import ChatsServicer, registrar
from tokenyard.chats.store import ChatStore
from tokenyard.chats.tools import EnabledTools, Toolbox, builtin_tools, no_app_config
from tokenyard.clients.auth_cache import Authenticator
from tokenyard.clients.router import Router, RouterModel
from tokenyard.egress import EgressPolicy
from tokenyard.grpcutil import Registrar
from tokenyard.settings import Settings


def build_chats(settings: Settings, catalog: Catalog, router: Router, authenticator: Authenticator,
                sessions: async_sessionmaker, http: httpx.AsyncClient,
                enabled_tools: EnabledTools = no_app_config, app_default_model: AppDefaultModel = no_app_default
                ) -> tuple[ChatAppService, Registrar]:
    """The service and its gRPC registrar. `http` is the client tools use (closed by the caller)."""
    store = ChatStore(sessions)
    toolbox = Toolbox(builtin_tools(catalog.tools, http, offline=settings.tools_offline), store, http, EgressPolicy(settings.egress_allow),
                      enabled_tools)
    service = ChatAppService(authenticator, store, RouterModel(router), catalog, toolbox,
                             default_model=catalog.default_chat_model(DEFAULT_MODEL),
                             app_default_model=app_default_model)
    return service, registrar(ChatsServicer(service))
