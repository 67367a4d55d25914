"""RightsHub shared data standard (v1.1, backwards compatible with v1.0): record types,
vocabularies, validation, text normalisation and JSON Schema export. No I/O beyond reading
the packaged vocabulary files."""

from schemas._fields import custom_error

from ._fields import is_number, isbn_is_valid, parse_vnd, refuse_unix_time
from ._hashing import NOT_CONTENT, content_dict, content_hash, hash_data, split_envelope
from ._jsonschema import (
    FileMeta,
    ImportSummary,
    Provenance,
    RecordEnvelope,
    Rejection,
    export_json_schemas,
)
from ._problems import FieldProblem, problem_from_error, problems_from_validation_error
from ._records import (
    HUB_OWNED_FIELDS,
    STANDARD_VERSION,
    Award,
    Budget,
    BudgetItem,
    Event,
    Link,
    Material,
    Plan,
    Product,
    RecordContent,
    Report,
    Target,
    TrainingCourse,
    Visibility,
)
from ._registry import (
    RECORD_TYPES,
    RecordType,
    RecordTypeName,
    check_vocabularies,
    vocab_refs,
)
from ._text import CONTROL_CHARACTERS, TEXT_CONTROL, LongText, ShortText, Text, fold, nfc
from ._vocab import VocabularySeed, VocabularyTerm, load_vocabulary_seed, vocabulary_codes

__all__ = [
    "CONTROL_CHARACTERS",
    "HUB_OWNED_FIELDS",
    "NOT_CONTENT",
    "RECORD_TYPES",
    "STANDARD_VERSION",
    "TEXT_CONTROL",
    "Award",
    "Budget",
    "BudgetItem",
    "Event",
    "FieldProblem",
    "FileMeta",
    "ImportSummary",
    "Link",
    "LongText",
    "Material",
    "Plan",
    "Product",
    "Provenance",
    "RecordContent",
    "RecordEnvelope",
    "RecordType",
    "RecordTypeName",
    "Rejection",
    "Report",
    "ShortText",
    "Target",
    "Text",
    "TrainingCourse",
    "Visibility",
    "VocabularySeed",
    "VocabularyTerm",
    "check_vocabularies",
    "content_dict",
    "content_hash",
    "custom_error",
    "export_json_schemas",
    "fold",
    "hash_data",
    "is_number",
    "isbn_is_valid",
    "load_vocabulary_seed",
    "nfc",
    "parse_vnd",
    "problem_from_error",
    "problems_from_validation_error",
    "refuse_unix_time",
    "split_envelope",
    "vocab_refs",
    "vocabulary_codes",
]
