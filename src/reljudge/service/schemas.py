"""The request and response bodies of the HTTP API (pydantic: a bad field is a 422 that names it).

/v1/judge is reljudge's own shape and refuses unknown fields (a misspelt "titel" would otherwise judge an empty
title). /v1/rerank speaks Cohere's shape, which vLLM, LiteLLM and Elasticsearch also send, and ignores the fields
of theirs it has no use for (model, return_documents' siblings, max_tokens_per_doc ...).

Every text field is cut to MAX_FIELD characters: no judge reads further (the cross-encoder reads 64 tokens of a
pair, the lexical judge's features saturate long before), and a field of megabytes would otherwise be judged,
stored and counted in the daily report. Documents given as plain strings are cut the same way.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

#: The characters of a field that reach the judge and the store.
MAX_FIELD = 2000


def _cut(text: str) -> str:
    return text[:MAX_FIELD]


#: A text field, cut to MAX_FIELD characters.
Text = Annotated[str, AfterValidator(_cut)]


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Text = Field("", description="The product's id (optional; part of the pair's store key).")
    title: Text = Field(min_length=1)
    brand: Text = ""
    color: Text = ""
    category: Text = ""
    bullets: Text = ""
    description: Text = ""
    locale: Text = ""


class PairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Optional[Text] = Field(None, description="Your id of the pair, echoed back (default: the pair's hash).")
    query: Text = Field(min_length=1)
    query_id: Optional[Text] = Field(None, description="Groups the candidates of one query (default: from the query "
                                                      "text). Judges that compare candidates look within a group.")
    product: ProductIn


class JudgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pairs: list[PairIn] = Field(min_length=1)


class PairJudged(BaseModel):
    id: str
    label: Optional[str] = Field(description="The argmax label; null when the judge could not score the pair.")
    probabilities: Optional[dict[str, float]] = Field(description="The probability of every label of the scheme.")
    reason: str = Field("", description="Why a pair is unscored.")


class JudgeResponse(BaseModel):
    judge: dict[str, Any] = Field(description="The judge's identity: spec, scheme, level, options, details.")
    labels: list[str]
    results: list[PairJudged]
    cached: int = Field(description="Pairs the store already held a judgment of.")
    judged: int = Field(description="Pairs the judge judged for this request.")


class DocumentIn(BaseModel):
    """A document as Cohere's object form ({"text": ...}) or a product's fields ({"title": ..., "brand": ...})."""

    model_config = ConfigDict(extra="ignore")

    text: Optional[str] = None
    id: Text = ""
    title: Optional[str] = None
    brand: Text = ""
    color: Text = ""
    category: Text = ""
    bullets: Text = ""
    description: Text = ""

    @model_validator(mode="after")
    def _has_text(self) -> DocumentIn:
        if not (self.title or self.text):
            raise ValueError("a document needs a non-empty 'text' or 'title'")
        return self


class RerankRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    query: Text = Field(min_length=1)
    documents: list[Union[Text, DocumentIn]] = Field(min_length=1)
    top_n: Optional[int] = Field(None, ge=1)
    return_documents: bool = False
    model: Optional[str] = Field(None, description="Accepted for compatibility; the server's judge answers.")


class RerankResult(BaseModel):
    index: int
    relevance_score: Optional[float] = Field(description="The expected gain of the scheme's labels; null when the "
                                                         "judge could not score the document (ranked last).")
    document: Optional[dict[str, Any]] = None


class RerankResponse(BaseModel):
    id: str
    model: str
    results: list[RerankResult]
    meta: dict[str, Any]


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: int
    label: Optional[str] = None
    cant_judge: bool = False
    note: str = ""
