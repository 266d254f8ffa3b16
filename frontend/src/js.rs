//! [`Fields`] over browser values: the browser's `JSON.parse` and property
//! reads, each of which may throw on hostile input and is caught.

use wasm_bindgen::JsValue;

use crate::answer::{Fields, Shape};

impl Fields for JsValue {
    fn text(&self, key: &str) -> Option<String> {
        js_sys::Reflect::get(self, &JsValue::from_str(key))
            .ok()?
            .as_string()
    }

    fn number(&self, key: &str) -> Option<f64> {
        js_sys::Reflect::get(self, &JsValue::from_str(key))
            .ok()?
            .as_f64()
    }
}

pub fn shape(value: JsValue) -> Shape<JsValue> {
    if value.is_undefined() || value.is_null() {
        Shape::Missing
    } else if let Some(text) = value.as_string() {
        Shape::Text(text)
    } else if value.is_object() {
        Shape::Object(value)
    } else {
        Shape::Other
    }
}

pub fn parse(text: &str) -> Shape<JsValue> {
    js_sys::JSON::parse(text).map_or(Shape::Other, shape)
}

/// A string as a JSON string literal, quotes and escapes included.
pub fn json_string(text: &str) -> Option<String> {
    js_sys::JSON::stringify(&JsValue::from_str(text))
        .ok()
        .map(String::from)
}
