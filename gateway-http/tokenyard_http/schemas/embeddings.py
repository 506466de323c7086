"""Wire model of the OpenAI embeddings API (requests accept unknown fields)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr


class EmbeddingRequest(BaseModel):
    """POST /v1/embeddings body. `input` is checked by the route so errors can name the bad item."""

    model_config = ConfigDict(extra="allow")

    input: Any = Field(..., description="A string, an array of strings, an array of token ids, or an array "
                                        "of token-id arrays.")
    model: StrictStr | None = Field(None, description="Embedding model id (an app's config may supply it).")
    encoding_format: Literal["float", "base64"] | None = Field(
        None, description="`float` (default) or `base64`: little-endian float32 bytes, base64-encoded.")
    dimensions: StrictInt | None = Field(None, description="Output size, for models that support shortening.")
    user: StrictStr | None = Field(None, description="End-user id.")
