//! Workflow definitions the tests use, pointed at a vendor's base URL.

pub fn get_contact(vendor: &str, heal: &str) -> String {
    format!(
        r#"
document: {{ dsl: '1.0.0', namespace: crm, name: get-contact-{heal}, version: '1.0.0' }}
metadata:
  suture:
    heal: {heal}
input:
  schema:
    format: json
    document:
      type: object
      required: [contactId]
do:
  - getContact:
      call: http
      with:
        method: get
        endpoint: '${{ "{vendor}/v1/contacts/" + (.contactId | tostring) }}'
        headers:
          Authorization: Bearer vendor-secret-123
      output:
        schema:
          format: json
          document:
            type: object
            required: [name, email, age]
            properties:
              name: {{ type: string }}
              email: {{ type: string, format: email }}
              age: {{ type: integer }}
  - summary:
      set:
        who: '${{ .name + " <" + .email + ">" }}'
        age: '${{ .age }}'
"#
    )
}

/// GET, set, POST: the three-step workflow of the benchmarks.
pub fn three_step(vendor: &str) -> String {
    format!(
        r#"
document: {{ dsl: '1.0.0', namespace: bench, name: three-step, version: '1.0.0' }}
do:
  - fetch:
      call: http
      with: {{ method: get, endpoint: '{vendor}/data' }}
  - rename:
      set:
        id: '${{ .id }}'
        price: '${{ .price }}'
        tags: '${{ .tags }}'
        product_name: '${{ .name }}'
  - publish:
      call: http
      with:
        method: post
        endpoint: '{vendor}/messages'
        body: '${{ {{ text: ("New product " + .product_name) }} }}'
      output:
        as: '${{ {{ posted: .ok, message: .echo.text }} }}'
"#
    )
}
