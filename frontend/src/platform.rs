//! Where the app runs: the standalone site, or AcWing's AcApp window.

use wasm_bindgen::{JsCast, JsValue};

use crate::acwing_os::AcWingOs;

#[derive(Clone)]
pub enum Platform {
    Web,
    AcApp(AcWingOs),
}

impl PartialEq for Platform {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Platform::Web, Platform::Web) => true,
            (Platform::AcApp(a), Platform::AcApp(b)) => {
                AsRef::<JsValue>::as_ref(a) == AsRef::<JsValue>::as_ref(b)
            }
            _ => false,
        }
    }
}

impl Platform {
    /// AcWing passes its AcWingOS object; the standalone site passes
    /// nothing, null or undefined.
    pub fn detect(acwing_os: JsValue) -> Platform {
        if acwing_os.is_null() || acwing_os.is_undefined() {
            Platform::Web
        } else {
            Platform::AcApp(acwing_os.unchecked_into())
        }
    }
}
