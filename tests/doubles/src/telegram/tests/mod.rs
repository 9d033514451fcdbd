//! Unit tests of the validators beside the code they test.

mod contract;
mod html;
mod params;
mod validate;
