//! Outseta's validation-error shape, and the checks every request body shares.
//!
//! Create, reply and update all answer a bad body the same way: 400 with every
//! problem at once, each naming the property it is about, so the notifier's
//! handling of a rejected request (a non-retryable 4xx) is tested against the real
//! thing's format.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// One problem with a request, as Outseta reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ValidationError {
    pub error_code: &'static str,
    pub error_message: String,
    /// `None` (JSON null) when the problem is the body as a whole.
    pub property_name: Option<&'static str>,
}

impl ValidationError {
    pub(crate) fn new(
        code: &'static str,
        property: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        ValidationError {
            error_code: code,
            error_message: message.into(),
            property_name: property,
        }
    }
}

/// What a validation error is about, named as Outseta names the entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entity {
    Case,
    CaseHistory,
}

/// Outseta's 400 body for a list of problems with a case or a reply.
pub(crate) fn validation_failed_body(entity: Entity, errors: &[ValidationError]) -> Value {
    let type_name = match entity {
        Entity::Case => "Case",
        Entity::CaseHistory => "CaseHistory",
    };
    json!({
        "ErrorMessage": "Validation failed",
        "EntityValidationErrors": [{
            "Entity": null,
            "TypeName": type_name,
            "ValidationErrors": errors,
        }],
    })
}

/// The body as a JSON object, or the one `InvalidJson` problem that stops every
/// other check.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, Vec<ValidationError>> {
    let value: Value = serde_json::from_slice(body).map_err(|err| {
        vec![ValidationError::new(
            "InvalidJson",
            None,
            format!("Request body is not valid JSON: {err}"),
        )]
    })?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(vec![ValidationError::new(
            "InvalidJson",
            None,
            "Request body must be a JSON object",
        )]),
    }
}

/// A required, non-blank string property.
pub(crate) fn check_text(
    object: &Map<String, Value>,
    property: &'static str,
    errors: &mut Vec<ValidationError>,
) -> Option<String> {
    match object.get(property) {
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text.clone()),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            errors.push(ValidationError::new(
                "Required",
                Some(property),
                format!("{property} is required"),
            ));
            None
        }
        Some(_) => {
            errors.push(ValidationError::new(
                "InvalidType",
                Some(property),
                format!("{property} must be a string"),
            ));
            None
        }
    }
}
