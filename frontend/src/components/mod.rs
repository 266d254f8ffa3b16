pub mod app;
pub mod login;
pub mod menu;
