"""Schemas shared by every router: pages, the error body, strict request bodies and bounded free-form JSON."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from revos import jsonsafe

T = TypeVar("T")

# A free-form JSON field (settings, custom fields) holds configuration, not data: 64 KiB and 8 levels
# are far above any real use and keep one request from storing megabytes in a settings column.
FREE_JSON_MAX_BYTES = 64 * 1024
FREE_JSON_MAX_DEPTH = 8


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class StrictModel(BaseModel):
    """Request bodies: unknown fields are an error the caller should hear about, not silently dropped;
    numbers must be finite."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class PatchModel(StrictModel):
    """A PATCH body: a field left out is kept; `null` clears it only where clearing is allowed.

    `{"name": null}` on a required column would otherwise reach the database (or the response model)
    and fail there; here it is a 422 that names the field."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_where_required(self) -> PatchModel:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.nullable:
                raise ValueError(f"{name} may not be null; leave it out to keep the current value")
        return self


def _bounded_json(value: Any) -> Any:
    if value is None:
        return value
    why = jsonsafe.problem(value, max_depth=FREE_JSON_MAX_DEPTH)
    if why:
        raise ValueError(why)
    if jsonsafe.size_of(value) > FREE_JSON_MAX_BYTES:
        raise ValueError(f"larger than {FREE_JSON_MAX_BYTES // 1024} KiB as JSON")
    return value


FreeJSON = Annotated[
    dict[str, Any],
    AfterValidator(_bounded_json),
    Field(
        description=f"free-form JSON object, at most {FREE_JSON_MAX_BYTES // 1024} KiB "
        f"and {FREE_JSON_MAX_DEPTH} levels deep"
    ),
]


class FieldError(BaseModel):
    field: str | None = Field(description="dotted path of the offending field; null for the whole request")
    message: str


class ErrorBody(BaseModel):
    """Every error the API answers, whatever its status."""

    error: str = Field(description="a stable code: validation_failed, unauthorized, not_found, conflict, …")
    detail: str = Field(description="what went wrong, for a person")
    fields: list[FieldError] | None = Field(default=None, description="per-field problems (422)")
    info: dict[str, Any] | None = Field(default=None, description="machine-readable context, when any")
