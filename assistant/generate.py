"""Generative answers through a LangChain chat model chosen by configuration (stub)."""
from __future__ import annotations


def chat_model_from_env():
    return None
