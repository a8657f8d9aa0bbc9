use super::*;

fn nb(cells: &str) -> String {
    format!(r#"{{"nbformat": 4, "nbformat_minor": 5, "metadata": {{}}, "cells": [{cells}]}}"#)
}

#[test]
fn reads_cells_ids_tags_and_list_sources() {
    let text = nb(r##"
 {"id": "intro", "cell_type": "markdown", "metadata": {}, "source": ["# Title\n", "text"]},
 {"id": "call", "cell_type": "code", "metadata": {"tags": ["invoke"]}, "execution_count": 3,
  "source": "print(1)", "outputs": [{"output_type": "stream", "name": "stdout", "text": ["1\n"]}]}"##);
    let n = Notebook::parse("lab.ipynb", text.as_bytes()).expect("parses");
    assert_eq!(n.cells.len(), 2);
    assert_eq!(n.language, "python");
    assert_eq!(n.cells[0].source, "# Title\ntext");
    assert_eq!(n.cells[1].id.as_deref(), Some("call"));
    assert!(n.cells[1].has_tag("invoke"));
    assert_eq!(n.cells[1].execution_count, Some(3));
    assert_eq!(
        n.cells[1].outputs,
        vec![Output::Stream {
            name: "stdout".into(),
            text: "1\n".into()
        }]
    );
    assert_eq!(n.cell_by_id("call").map(Cell::number), Some(2));
}

#[test]
fn nbformat_3_is_unsupported() {
    let e = Notebook::parse("a.ipynb", br#"{"nbformat": 3, "worksheets": []}"#).expect_err("v3");
    assert_eq!(e.kind(), "notebook-unsupported");
}

#[test]
fn shape_errors_name_json_position_and_cell() {
    let text = nb("\n{\"cell_type\": \"code\", \"metadata\": {}, \"source\": 5}");
    let e = Notebook::parse("a.ipynb", text.as_bytes()).expect_err("bad source");
    assert_eq!(e.kind(), "notebook-bad-shape");
    match e.position {
        NotebookPosition::Json { line, cell, .. } => {
            assert_eq!((line, cell), (2, Some(1)));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string().contains("a string or a list of strings"),
        "{e}"
    );
}

#[test]
fn duplicate_ids_point_at_the_second_cell() {
    let c = r#"{"id": "x", "cell_type": "raw", "metadata": {}, "source": ""}"#;
    let e = Notebook::parse("a.ipynb", nb(&format!("{c},{c}")).as_bytes()).expect_err("dup");
    assert_eq!(
        e.position,
        NotebookPosition::Cell(CellLocation {
            number: 2,
            id: Some("x".into()),
            line: 1
        })
    );
}

#[test]
fn devices_and_directories_are_not_read_and_cells_are_found_by_number() {
    // A FIFO or device could block or never end: only regular files are read.
    let e = Notebook::read(Path::new("/dev/zero")).expect_err("device");
    assert!(e.to_string().contains("not a regular file"), "{e}");
    let e = Notebook::read(Path::new("/")).expect_err("directory");
    assert_eq!(e.kind(), "notebook-is-directory");
    let text = nb(r#"{"cell_type": "code", "metadata": {}, "source": "1", "outputs": []}"#);
    let n = Notebook::parse("lab.ipynb", text.as_bytes()).expect("parses");
    assert_eq!(n.cell(1).map(|c| c.source.as_str()), Some("1"));
    assert!(n.cell(0).is_none() && n.cell(2).is_none());
}
