pub mod app;
pub mod hooks;
pub mod login;
pub mod menu;
pub mod notice;
